"""`export`: publish a trained run as a TF Serving model version.

    python -m export runs/starry --repo model_repo --name starry_night

writes model_repo/starry_night/<next version>/ (saved_model.pb, variables/,
assets.extra/tf_serving_warmup_requests, assets.extra/metadata.json), after checking
that the SavedModel reloaded from disk reproduces the trained network.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from serving import tf_env

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Served precision -> Keras dtype policy. float16 is for GPUs, where it halves memory
# traffic and runs on tensor cores; bfloat16 for CPUs with AVX512_BF16 or AMX, where
# oneDNN runs it in about 40 % less time than float32 (and slower than float32 on CPUs
# without). export/gate.py says how close to float32 each must be.
PRECISIONS = {"float32": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


@dataclass(frozen=True)
class ExportConfig:
    run_dir: Path
    repo: Path
    name: str
    version: int | None = None
    precision: str = "float32"


def source_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def metadata(name: str, version: int, info: dict, precision: str) -> dict:
    from training.run_dir import total_steps

    return {
        "model": name, "version": version, "precision": precision, "style": info.get("style"),
        # A multi-style model's paintings, in the order of its style_weights input.
        "styles": info.get("styles") if len(info.get("styles") or []) > 1 else None,
        "identity": bool(info.get("identity")),
        "preset": info.get("preset"), "steps": total_steps(info),
        "final_losses": info.get("final_losses"),
        "training": {k: info.get(k) for k in ("image_size", "batch_size", "style_size",
                                              "painting_sizes", "learning_rate", "losses",
                                              "vgg_weights")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source_commit": source_commit(),
    }


def export(cfg: ExportConfig) -> str:
    """Writes, gates and publishes one version; returns its directory."""
    import tensorflow as tf

    from export.gate import check_saved_model
    from export.stylizer import MultiStyleStylizer, Stylizer
    from export.warmup import write_warmup
    from serving.contract import METADATA_FILE
    from serving.repository import RepositoryError, next_version, place_version, staging_dir
    from training.run_dir import conditions, load_transformer, total_steps
    from training.transformer_net import build_transformer

    transformer, info = load_transformer(cfg.run_dir)
    count = conditions(info)
    # Painting files name the styles: starry_night.jpg is the style starry_night.
    names = [Path(n).stem for n in info["styles"]] if count > 1 else None
    served = build_transformer(info["preset"], dtype_policy=PRECISIONS[cfg.precision],
                               styles=count if count > 1 else None,
                               identity=bool(info.get("identity")))
    served.set_weights(transformer.get_weights())
    model_dir = cfg.repo / cfg.name
    version = cfg.version or next_version(model_dir)
    if (model_dir / str(version)).exists():
        raise RepositoryError(f"version {version} of {cfg.name} already exists")
    with staging_dir(model_dir) as staged:
        stylizer = MultiStyleStylizer(served, names, bool(info.get("identity"))) if names \
            else Stylizer(served)
        tf.saved_model.save(stylizer, staged, signatures=stylizer.signatures())
        write_warmup(Path(staged), cfg.name, len(names) if names else None)
        (Path(staged) / METADATA_FILE).write_text(
            json.dumps(metadata(cfg.name, version, info, cfg.precision), indent=2))
        error = check_saved_model(Path(staged), transformer, cfg.precision, names)
        target = place_version(staged, model_dir, version)
    print(f"export: published {target} (preset {info['preset']}, step {total_steps(info)}, "
          f"{cfg.precision}, max gate error {error:g} grey levels)")
    return target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="export", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Export a training run (or a bundled style under styles/) as a versioned "
        "TensorFlow SavedModel in a TF Serving model repository: REPO/NAME/VERSION/.")
    p.add_argument("run_dir", type=Path, help="training run directory (holds run.json)")
    p.add_argument("--repo", type=Path, required=True, help="model repository (base of base_path)")
    p.add_argument("--name", required=True, help="model name, e.g. starry_night")
    p.add_argument("--version", type=int, default=None,
                   help="version number (default: one more than the newest)")
    p.add_argument("--precision", choices=sorted(PRECISIONS), default="float32",
                   help="arithmetic of the served model: float16 for GPU serving (tensor "
                   "cores, half the memory traffic); bfloat16 for CPUs whose flags list "
                   "avx512_bf16 or amx_bf16 (about 40%% less time there, slower elsewhere); "
                   "both within a few grey levels of float32, the exact default")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not NAME_PATTERN.match(args.name):
        print(f"export: error: bad model name {args.name!r}: use a-z, 0-9, _ and -", file=sys.stderr)
        return 2
    if args.version is not None and args.version < 1:
        print(f"export: error: --version must be >= 1, got {args.version}", file=sys.stderr)
        return 2
    tf_env.apply()
    from export.gate import GateError
    from serving.repository import RepositoryError
    from training.magenta_weights import WeightsError
    from training.run_dir import RunDirError

    try:
        export(ExportConfig(args.run_dir, args.repo, args.name, args.version, args.precision))
    except (RunDirError, RepositoryError, GateError, WeightsError, OSError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        return 1
    return 0
