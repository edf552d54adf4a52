"""`make contact-sheet`: every held-out photo in every bundled style (each painting of a
multi-style model too), in one PNG grid, with each style's content and style losses on
those photos.

    python -m training.contact_sheet --styles styles --photos ../shared/data/content-test \
        --style-images ../shared/data/styles --out contact_sheet.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.images import IMAGE_SUFFIXES, DataError, load_rgb
from training.loss_config import LossConfig
from training.magenta_weights import WeightsError
from training.run_dir import (
    RunDirError,
    load_paintings,
    load_transformer,
    painting_losses,
    painting_names,
)


def _columns(model_dir: Path, style_images: Path, photos: list[np.ndarray]):
    """(title, stylized photos, mean content loss, mean style loss) for each painting of one
    bundled model: one column for a single-style model, one per painting for a
    multi-style one."""
    from training.model import StyleTransferModel
    from training.vgg import build_loss_network

    transformer, info = load_transformer(model_dir)
    files = painting_names(info)
    losses = LossConfig(**info["losses"])
    paintings = [painting.astype(np.float32) for painting
                 in load_paintings(info, [style_images / f for f in files])]
    model = StyleTransferModel(transformer, build_loss_network(losses.vgg_layers), paintings,
                               losses, identity=bool(info.get("identity")),
                               **painting_losses(info))
    columns = []
    for index, file in enumerate(files):
        outputs, content, style_loss = [], [], []
        for photo in photos:
            batch = photo[None].astype(np.float32)
            outputs.append(np.clip(np.asarray(model(batch, style=index))[0], 0, 255)
                           .astype(np.uint8))
            terms = model.compute_losses(batch, training=False, style=index)
            content.append(float(terms["content"]))
            style_loss.append(float(terms["style"]))
        title = model_dir.name if len(files) == 1 else f"{model_dir.name}/{Path(file).stem}"
        columns.append((title, outputs, float(np.mean(content)), float(np.mean(style_loss))))
    return columns


def _grid(columns: list[tuple[str, list[np.ndarray]]], cell: int,
          cell_height: int | None = None) -> Image.Image:
    rows, height = len(columns[0][1]), cell_height or cell
    sheet = Image.new("RGB", (cell * len(columns), 24 + height * rows), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (title, images) in enumerate(columns):
        draw.text((c * cell + 6, 6), title, fill="black")
        for r, pixels in enumerate(images):
            tile = Image.fromarray(pixels)
            tile.thumbnail((cell - 4, height - 4))
            sheet.paste(tile, (c * cell + 2, 24 + r * height + 2))
    return sheet


def sheet_parser(prog: str, doc: str, out: str, size: int) -> argparse.ArgumentParser:
    """The options every sheet of bundled styles on held-out photos takes."""
    p = argparse.ArgumentParser(prog=prog, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--styles", type=Path, default=Path("styles"), help="bundled styles (styles)")
    p.add_argument("--photos", type=Path, required=True, help="folder of held-out photos")
    p.add_argument("--style-images", type=Path, required=True, help="folder of the paintings")
    p.add_argument("--out", type=Path, default=Path(out), help=f"the sheet ({out})")
    p.add_argument("--size", type=int, default=size,
                   help=f"long side the photos are scaled to ({size})")
    return p


def main(argv: list[str] | None = None) -> int:
    p = sheet_parser("contact_sheet", __doc__, "contact_sheet.png", 384)
    p.add_argument("--cell", type=int, default=256, help="grid cell size in pixels (256)")
    args = p.parse_args(argv)
    try:
        paths = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        names = sorted(q.parent.name for q in args.styles.glob("*/run.json"))
        if not paths or not names:
            raise DataError(f"need photos in {args.photos} and styles in {args.styles}")
        photos = [load_rgb(q, long_side=args.size) for q in paths]
        columns = [("photo", photos)]
        print(f"{'style':<36} {'content loss':>14} {'style loss':>14}")
        for name in names:
            for title, outputs, content, style in _columns(args.styles / name,
                                                           args.style_images, photos):
                columns.append((title, outputs))
                print(f"{title:<36} {content:>14.4g} {style:>14.4g}")
    except (DataError, RunDirError, WeightsError, OSError) as e:
        print(f"contact_sheet: error: {e}", file=sys.stderr)
        return 2
    _grid(columns, args.cell).save(args.out)
    print(f"contact_sheet: wrote {args.out} ({len(paths)} photos x {len(columns) - 1} styles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
