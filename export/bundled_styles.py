"""`python -m export.bundled_styles`: export the bundled styles (styles/<name>/, and the
catalogue's arbitrary-style model) into a local model repository and add them to the
repository's models.config.

Only what is missing is added: a style that already has a version is not exported again,
and a model already in models.config keeps the versions and labels it has, because a
rollout (`rollout publish` / `rollback`) may have set them. A new model is pinned to its
newest version under the `stable` label, as in the cluster.

The trained styles and the arbitrary-style transformer are exported in bfloat16 on a CPU
that computes it natively (1.4-1.7x faster there, within a few grey levels of float32:
export/gate.py), else in float32."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from export.export_run import PRECISIONS, ExportConfig, export
from serving.config_files import (
    MODELS_CONFIG,
    ConfigError,
    ModelServerConfig,
    model_config_text,
    pin_model,
    read_model_config,
)
from serving.contract import LABEL_STABLE
from serving.tf_env import local_precision


def bundled_styles(styles_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in styles_dir.glob("*/run.json"))


def _unpinned(config: ModelServerConfig) -> list[str]:
    """Entries without a `stable` label: written by an older `make models` that served
    the newest version (a rollout always sets `stable`), so pinning them changes nothing
    a rollout did."""
    return [c.name for c in config.model_config_list.config if LABEL_STABLE not in c.version_labels]


def add_missing(config: ModelServerConfig, repo: Path, names: list[str]) -> list[str]:
    """Pins every model of `names` that `config` lacks (or serves unpinned) to its newest
    version in `repo`; returns the names it added."""
    from serving.repository import versions

    stale = set(_unpinned(config))
    kept = [c for c in config.model_config_list.config if c.name not in stale]
    del config.model_config_list.config[:]
    config.model_config_list.config.extend(kept)
    listed = {c.name for c in kept}
    added = [n for n in names if n not in listed]
    for name in added:
        pin_model(config, name, str((repo / name).resolve()), versions(repo / name)[-1])
    return added


def arbitrary_models(styles_dir: Path) -> list[str]:
    """The catalogue's arbitrary-style models: their weights are the published ones."""
    path = styles_dir / "catalogue.json"
    entries = json.loads(path.read_text()).get("styles", []) if path.exists() else []
    return [e["name"] for e in entries if e.get("arbitrary")]


def export_missing(styles_dir: Path, repo: Path, precision: str = "auto") -> list[str]:
    from export.arbitrary_export import export_arbitrary
    from serving.repository import versions

    trained, arbitrary = bundled_styles(styles_dir), arbitrary_models(styles_dir)
    names = trained + arbitrary
    if not names:
        raise FileNotFoundError(f"no bundled styles (*/run.json) under {styles_dir}")
    for name in names:
        if versions(repo / name):
            print(f"export: {name} already in {repo}")
        elif name in arbitrary:
            export_arbitrary(repo, name, precision=local_precision(precision))
        else:
            export(ExportConfig(styles_dir / name, repo, name,
                                precision=local_precision(precision)))
    path = repo / MODELS_CONFIG
    config = read_model_config(path) if path.exists() else ModelServerConfig()
    added = add_missing(config, repo, names)
    if added or not path.exists():
        path.write_text(model_config_text(config))
        print(f"export.bundled_styles: added {', '.join(added)} to {path}")
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="export.bundled_styles", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--styles", type=Path, default=Path("styles"), help="bundled styles folder")
    p.add_argument("--repo", type=Path, default=Path("model_repo"), help="model repository")
    p.add_argument("--precision", choices=["auto", *sorted(PRECISIONS)], default="auto",
                   help="arithmetic of the trained styles: auto = bfloat16 where the CPU has "
                        "AVX512_BF16 or AMX, else float32")
    args = p.parse_args(argv)
    from training.magenta_weights import WeightsError

    try:
        names = export_missing(args.styles, args.repo, args.precision)
    except (OSError, ValueError, ConfigError, WeightsError) as e:
        print(f"export.bundled_styles: error: {e}", file=sys.stderr)
        return 1
    print(f"export.bundled_styles: {len(names)} styles in {args.repo}/{MODELS_CONFIG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
