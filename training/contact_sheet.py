"""`make contact-sheet`: every held-out photo in every bundled style, in one PNG grid,
with each style's content and style losses on those photos.

    python -m training.contact_sheet --styles styles --photos ../shared/data/content-test \
        --style-images ../shared/data/styles --out contact_sheet.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.data import IMAGE_SUFFIXES, DataError, load_rgb
from training.run_dir import RunDirError


def _losses(model_dir: Path, style_images: Path, photos: list[np.ndarray]):
    """(stylized photos, mean content loss, mean style loss) of one bundled style."""
    from training.model import LossConfig, StyleTransferModel
    from training.run_dir import load_transformer
    from training.vgg import build_loss_network

    transformer, info = load_transformer(model_dir)
    losses = LossConfig(**info["losses"])
    style = load_rgb(style_images / info["style"], long_side=info["style_size"])
    model = StyleTransferModel(transformer, build_loss_network(losses.vgg_layers),
                               [style.astype(np.float32)], losses)
    outputs, content, style_loss = [], [], []
    for photo in photos:
        batch = photo[None].astype(np.float32)
        outputs.append(np.clip(np.asarray(transformer(batch))[0], 0, 255).astype(np.uint8))
        terms = model.compute_losses(batch, training=False)
        content.append(float(terms["content"]))
        style_loss.append(float(terms["style"]))
    return outputs, float(np.mean(content)), float(np.mean(style_loss))


def _grid(columns: list[tuple[str, list[np.ndarray]]], cell: int) -> Image.Image:
    rows = len(columns[0][1])
    sheet = Image.new("RGB", (cell * len(columns), 24 + cell * rows), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (title, images) in enumerate(columns):
        draw.text((c * cell + 6, 6), title, fill="black")
        for r, pixels in enumerate(images):
            tile = Image.fromarray(pixels)
            tile.thumbnail((cell - 4, cell - 4))
            sheet.paste(tile, (c * cell + 2, 24 + r * cell + 2))
    return sheet


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="contact_sheet", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--styles", type=Path, default=Path("styles"), help="bundled styles")
    p.add_argument("--photos", type=Path, required=True, help="folder of held-out photos")
    p.add_argument("--style-images", type=Path, required=True, help="folder of the paintings")
    p.add_argument("--out", type=Path, default=Path("contact_sheet.png"))
    p.add_argument("--size", type=int, default=384, help="long side the photos are scaled to")
    p.add_argument("--cell", type=int, default=256, help="grid cell size in pixels")
    args = p.parse_args(argv)
    try:
        paths = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        names = sorted(q.parent.name for q in args.styles.glob("*/run.json"))
        if not paths or not names:
            raise DataError(f"need photos in {args.photos} and styles in {args.styles}")
        photos = [load_rgb(q, long_side=args.size) for q in paths]
        columns = [("photo", photos)]
        print(f"{'style':<20} {'content loss':>14} {'style loss':>14}")
        for name in names:
            outputs, content, style = _losses(args.styles / name, args.style_images, photos)
            columns.append((name, outputs))
            print(f"{name:<20} {content:>14.4g} {style:>14.4g}")
    except (DataError, RunDirError, OSError) as e:
        print(f"contact_sheet: error: {e}", file=sys.stderr)
        return 2
    _grid(columns, args.cell).save(args.out)
    print(f"contact_sheet: wrote {args.out} ({len(paths)} photos x {len(names)} styles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
