"""`python -m training.targets`: pictures for a network to learn from, made by refining its
own pictures with Gatys' algorithm (the site's Refine in HD, on training crops).

    python -m training.targets --init styles/masters --style great_wave.jpg \\
        --content-dir photos/ --out targets/ --count 80

Refine in HD paints shapes that feed-forward training does not find, such as Hokusai's
clumped crests with foam, in a minute or two a picture. Training with `--targets DIR`
then pulls the network's picture of each crop towards its refined one (distillation), so
the site paints them at the network's speed. Each target is a square crop of a training
photo, `DIR/photos/NNNN.png`, and its refined picture, `DIR/<painting>/NNNN.png`, at the
crop size the network trains at: the refine's painting is scaled as training scales it,
so the shapes come out at the network's own scale. Targets already there are kept: a
stopped run goes on where it ended, and more paintings or a higher `--count` add to a
folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from training.data import random_crop, target_paths
from training.gatys import DEFAULT_STYLE_WEIGHTS_HELP, GatysConfig, painter, run, style_weight_or_default
from training.images import DataError, find_content_images
from training.loss_config import STYLE_DISTANCES, LossConfig


def crop_of(photos: list[str], index: int, size: int) -> np.ndarray:
    """Target `index`'s crop: the same photo and crop every time (seeded by the index), as
    training crops them."""
    rng = np.random.default_rng(index)
    path = photos[int(rng.integers(len(photos)))]
    return random_crop(path, size, int(rng.integers(2**31))).astype(np.uint8)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="training.targets", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", type=Path, required=True,
                   help="the run directory or bundled style whose pictures are refined")
    p.add_argument("--style", type=Path, nargs="+", required=True,
                   help="the painting(s); each one's targets go to OUT/<its file name>/")
    p.add_argument("--content-dir", type=Path, required=True, help="training photos")
    p.add_argument("--out", type=Path, required=True, help="the targets folder")
    p.add_argument("--count", type=int, default=80, help="targets per painting (80)")
    p.add_argument("--size", type=int, default=256,
                   help="crop side: training's --image-size (256)")
    p.add_argument("--style-size", type=int, default=256,
                   help="long side of the painting: training's --style-size (256)")
    p.add_argument("--iterations", type=int, default=80,
                   help="L-BFGS steps per target (80: about 25 s at 256 px on 2 cores "
                   "with bfloat16)")
    p.add_argument("--style-weight", type=float, default=None,
                   help="the style term's weight (default: Refine in HD's for the distance, "
                   f"{DEFAULT_STYLE_WEIGHTS_HELP})")
    p.add_argument("--style-distance", choices=STYLE_DISTANCES, default="gram",
                   help="as for training.gatys: sliced-wasserstein paints Hokusai's clumped "
                   "crests, which the Gram matrices (Refine in HD's) do not; about 3x slower")
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                   help="VGG19's arithmetic (see python -m training.gatys --help)")
    return p


def make_targets(args, photos: list[str]) -> None:
    losses = LossConfig(style_weight=style_weight_or_default(args.style_weight, args.style_distance),
                        style_distance=args.style_distance)
    for style in args.style:
        paint = painter(args.init, style.stem)
        with tempfile.TemporaryDirectory() as scratch:
            for index in range(args.count):
                crop_path, target_path = target_paths(args.out, style.stem, index)
                if target_path.exists():
                    continue
                start = time.monotonic()
                crop = crop_of(photos, index, args.size)
                crop_path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(crop).save(crop_path)
                init = Path(scratch, "init.png")
                Image.fromarray(paint(crop).astype(np.uint8)).save(init)
                cfg = GatysConfig(photo=crop_path, styles=((style, 1.0),), out=target_path,
                                  size=args.size, style_size=args.style_size,
                                  iterations=args.iterations, init=str(init), losses=losses,
                                  precision=args.precision)
                picture, _ = run(cfg, progress=False)
                target_path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(picture).save(target_path)
                print(f"targets: {style.stem} {index + 1}/{args.count} "
                      f"({time.monotonic() - start:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for path in args.style:
            if not path.is_file():
                raise DataError(f"painting not found: {path}")
        if not args.init.is_dir():
            raise DataError(f"--init must be a run directory or bundled style: {args.init}")
        if args.count < 1 or args.iterations < 1 or args.size < 16:
            raise DataError("--count and --iterations must be >= 1, --size >= 16")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        make_targets(args, find_content_images(args.content_dir, min_side=args.size))
    except (DataError, ValueError, OSError) as e:
        print(f"targets: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("targets: interrupted; the targets made so far are kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
