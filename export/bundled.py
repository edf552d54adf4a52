"""`python -m export.bundled`: export the bundled styles (styles/<name>/) into a local
model repository, skipping styles that already have a version, and write the repository's
models.config."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.publish import ExportConfig, export
from serving.config_files import local_model_config, model_config_text

MODELS_CONFIG = "models.config"


def bundled_styles(styles_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in styles_dir.glob("*/run.json"))


def export_missing(styles_dir: Path, repo: Path) -> list[str]:
    from export.repository import versions

    names = bundled_styles(styles_dir)
    if not names:
        raise FileNotFoundError(f"no bundled styles (*/run.json) under {styles_dir}")
    for name in names:
        if versions(repo / name):
            print(f"export: {name} already in {repo}")
        else:
            export(ExportConfig(styles_dir / name, repo, name))
    (repo / MODELS_CONFIG).write_text(model_config_text(local_model_config(repo, names)))
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="export.bundled", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--styles", type=Path, default=Path("styles"), help="bundled styles folder")
    p.add_argument("--repo", type=Path, default=Path("model_repo"), help="model repository")
    args = p.parse_args(argv)
    try:
        names = export_missing(args.styles, args.repo)
    except (OSError, ValueError) as e:
        print(f"export.bundled: error: {e}", file=sys.stderr)
        return 1
    print(f"export.bundled: {len(names)} styles in {args.repo}/{MODELS_CONFIG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
