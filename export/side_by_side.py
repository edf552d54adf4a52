"""`make side-by-side`: one photo painted by every bundled model next to published
reference outputs of the same paintings (Johnson et al.'s `chicago_*.jpg`), one row per
painting, and a last row with a 50/50 mix of the first two paintings of the multi-style
model: the quality bar of issue #15 is judged on this sheet, by eye. It prints each
column's colour distance to the paintings and counts the shapes the eye looks for (Van
Gogh's stars, Hokusai's crests, Kandinsky's black lines). Each model paints at the stroke
sizes the catalogue gives its paintings (`--styles`/catalogue.json), as the site does;
`--as-trained` paints them all at 1.

    python -m export.side_by_side --photo ../shared/data/content-test/chicago.jpg \
        --reference ../shared/data/reference-outputs --out side_by_side.png

Without --reference the rows are the --paintings themselves: any painting, even one no
network was trained on, next to what the arbitrary-style model makes of it.

    python -m export.side_by_side --photo photo.jpg --paintings my_paintings/ --out any.png

With --hd N one more column shows the multi-style model's pictures refined as the site's
"Refine in HD" does (N iterations of the optimisation, training/gatys.py; about 50 s a
cell at 512 px here), the way to the shapes the fast network misses (docs/hd.md).

    python -m export.side_by_side --photo ../shared/data/content-test/chicago.jpg \
        --reference ../shared/data/reference-outputs --paintings ../shared/data/styles --hd 100

The sheet holds third-party images (the references, the photo): an output to look at,
never to commit.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from serving.style_mix import catalogue_stroke_sizes, mix_stroke_size, resized
from training.contact_sheet import _grid
from training.images import IMAGE_SUFFIXES, DataError, load_rgb
from training.magenta_weights import WeightsError
from training.run_dir import RunDirError

# Reference files name some paintings differently from our painting files.
REFERENCE_NAMES = {"wave": "great_wave", "scream": "the_scream"}
# The order; the mix row blends the first two.
ROW_ORDER = ("starry_night", "great_wave", "the_scream", "composition_vii")

Painter = Callable[[np.ndarray, dict[str, float]], np.ndarray]


def painter(model_dir: Path, stroke_sizes: dict[str, float] | None = None
            ) -> tuple[list[str], Painter]:
    """(the model's paintings, paint(photo, {painting: share}) -> uint8 image), each mix
    painted at its stroke size from `stroke_sizes` as the site paints it (none: 1)."""
    from training.run_dir import conditions, load_transformer

    transformer, info = load_transformer(model_dir)
    count = conditions(info)
    # A single-style model is named after its painting, as the catalogue names it.
    names = [Path(f).stem for f in info["styles"]] if count > 1 else [model_dir.name]

    def paint_as_trained(photo: np.ndarray, mix: dict[str, float]) -> np.ndarray:
        x = photo[None].astype(np.float32)
        if count == 1:
            out = transformer(x)
        else:
            weights = np.zeros((1, count), np.float32)
            for name, share in mix.items():
                weights[0, names.index(name)] = share
            out = transformer({"image": x, "style_weights": weights})
        return np.clip(np.asarray(out)[0], 0, 255).astype(np.uint8)

    def paint(photo: np.ndarray, mix: dict[str, float]) -> np.ndarray:
        size = mix_stroke_size(stroke_sizes or {}, mix)
        if size == 1:
            return paint_as_trained(photo, mix)
        height, width = photo.shape[:2]
        small = resized(photo[None].astype(np.uint8), (round(width / size), round(height / size)))
        return resized(paint_as_trained(small[0], mix)[None], (width, height))[0]

    return names, paint


def arbitrary_painter(painting_files: dict[str, Path]) -> tuple[list[str], Painter]:
    """The arbitrary-style model (published weights) painting with each painting file's
    embedding; a mix is the weighted mean of the embeddings, as the gateway does."""
    from export.stylizer import ArbitraryStylizer
    from training.arbitrary_net import build_arbitrary_transformer, build_style_predictor
    from training.magenta_weights import load_predictor, load_transformer

    predictor, transformer = build_style_predictor(), build_arbitrary_transformer()
    load_predictor(predictor)
    load_transformer(transformer)
    module = ArbitraryStylizer(predictor, transformer)
    embeddings = {name: np.asarray(module.embedding(load_rgb(path)[None].astype(np.float32)))
                  for name, path in painting_files.items()}

    def paint(photo: np.ndarray, mix: dict[str, float]) -> np.ndarray:
        embedding = sum(share * embeddings[name] for name, share in mix.items())
        out = module.stylize_pixels(photo[None], embedding, np.ones(1, np.float32),
                                    np.zeros(1, bool))
        return out["pixels"].numpy()[0]

    return list(painting_files), paint


def hd_painter(photo_file: Path, painting_files: dict[str, Path], start: Painter,
               iterations: int) -> Painter:
    """Refine in HD as the site does it (gatys.refine_config): from `start`'s picture of
    the same mix, with the tool's loss defaults."""
    from serving.tf_env import local_precision
    from training import gatys

    def paint(photo: np.ndarray, mix: dict[str, float]) -> np.ndarray:
        with tempfile.TemporaryDirectory() as work:
            first = Path(work) / "start.png"
            Image.fromarray(start(photo, mix)).save(first)
            cfg = gatys.refine_config(
                photo=photo_file, styles=tuple((painting_files[n], w) for n, w in mix.items()),
                out=Path(work) / "out.png", size=max(photo.shape[:2]), iterations=iterations,
                init=str(first), precision=local_precision("auto"))
            return gatys.run(cfg)[0]

    return paint


def add_hd_column(models: dict, files: dict[str, Path], photo_file: Path, iterations: int):
    """Adds the first multi-style model refined in HD, for the paintings it and `files`
    both have."""
    if not files:
        raise DataError("--hd needs --paintings: the optimisation reads the painting files")
    found = next(((name, names, paint) for name, (names, paint) in models.items()
                  if len(names) > 1 and not name.startswith("arbitrary")), None)
    if found is None:
        raise DataError("--hd refines a multi-style model's pictures: none in --styles")
    name, names, paint = found
    models[f"{name} + Refine in HD ({iterations} iterations)"] = (
        [n for n in names if n in files], hd_painter(photo_file, files, paint, iterations))


def references(folder: Path, photo_stem: str, size: int) -> dict[str, np.ndarray]:
    """{painting: reference output} from `<photo>_<painting>.jpg` files."""
    found = {}
    for path in sorted(folder.glob(f"{photo_stem}_*.jpg")):
        name = path.stem.removeprefix(f"{photo_stem}_")
        found[REFERENCE_NAMES.get(name, name)] = load_rgb(path, long_side=size)
    order = [n for n in ROW_ORDER if n in found] + [n for n in found if n not in ROW_ORDER]
    return {name: found[name] for name in order}


def sheet_columns(photo: np.ndarray, refs: dict[str, np.ndarray],
                  models: dict[str, tuple[list[str], Painter]]) -> list[tuple[str, list]]:
    """Columns of the grid: the references, each multi-style model, then the single-style
    models in one column (each row's own); one row per reference painting, then the
    50/50 mix of the first two (multi-style models only; blank elsewhere)."""
    blank = np.full_like(photo, 255)
    rows, mix = list(refs), {name: 0.5 for name in list(refs)[:2]}
    columns = [("reference or painting (last row: the photo)", [refs[r] for r in rows] + [photo])]
    singles = {names[0]: paint for names, paint in models.values() if len(names) == 1}
    for model, (names, paint) in models.items():
        if len(names) > 1 or model.startswith("arbitrary"):
            cells = [paint(photo, {r: 1.0}) if r in names else blank for r in rows]
            cells.append(paint(photo, mix) if set(mix) <= set(names) else blank)
            columns.append((model, cells))
    if singles:
        cells = [singles[r](photo, {r: 1.0}) if r in singles else blank for r in rows]
        columns.append(("single-style nets", cells + [blank]))
    return columns


def colour_distance(image: np.ndarray, painting: np.ndarray, directions: int = 64) -> float:
    """How far an image's colours are from a painting's, in grey levels: the sliced
    Wasserstein distance of their RGB distributions (the mean gap between the sorted
    projections on fixed random directions, compared at 200 quantiles). Of the measures
    tried (docs/training.md) the one that agreed with the eye most often; not always."""
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(3, directions))
    axes /= np.linalg.norm(axes, axis=0)
    levels = np.linspace(0, 1, 200)
    a, b = (np.quantile(x.reshape(-1, 3).astype(np.float32) @ axes, levels, axis=0)
            for x in (image, painting))
    return float(np.abs(a - b).mean())


def print_colour_distances(columns: list[tuple[str, list]], paintings: dict[str, np.ndarray]):
    """A row per painting: each column's colour_distance to the painting (blank cells
    left out)."""
    print("colour distance to the painting (grey levels; lower is closer): "
          + " | ".join(title for title, _ in columns))
    for row, name in enumerate(paintings):
        cells = [cells[row] for _, cells in columns]
        print(f"  {name:<20} " + " | ".join(
            "-" if (cell == 255).all() else f"{colour_distance(cell, paintings[name]):.1f}"
            for cell in cells))


def _at_512_wide(picture: Image.Image) -> Image.Image:
    """The shape counts are in pixels, so each is taken at one scale, whatever the sheet's."""
    if picture.width == 512:
        return picture
    return picture.resize((512, round(512 * picture.height / picture.width)))


def yellow_stars(image: np.ndarray) -> str:
    """Van Gogh's stars: yellow blobs (red > 150, green > 130, red - blue > 60) over 40 px
    in the picture scaled to 512 px wide, how many are over 400 px, their median area and
    the yellow share. On chicago it says what the eye sees and the Gram loss does not
    (docs/training.md, "A measure that agrees with the eye")."""
    picture = _at_512_wide(Image.fromarray(np.asarray(image, np.uint8)))
    r, g, b = np.moveaxis(np.asarray(picture, np.int32), -1, 0)
    yellow = (r > 150) & (g > 130) & (r - b > 60)
    blobs, _ = ndimage.label(yellow)
    areas = np.bincount(blobs.ravel())[1:]
    stars = areas[areas > 40]
    median = int(np.median(stars)) if len(stars) else 0
    # Many specks pull the median down under a few large stars: count those apart.
    large = int((stars > 400).sum())
    return (f"{len(stars)} stars ({large} over 400 px), median {median} px, "
            f"{100 * yellow.mean():.1f}% yellow")


def dark_lines(image: np.ndarray) -> str:
    """Kandinsky's black lines: the share of dark pixels (luminance under 50) in the
    picture scaled to 512 px wide, and the share in lines at least 3 px wide (what a 3x3
    erosion leaves): Johnson's lines are wider than ours and than the painting's, which
    the share alone does not show."""
    picture = _at_512_wide(Image.fromarray(np.asarray(image, np.uint8)).convert("L"))
    dark = np.asarray(picture) < 50
    # Outside the picture counts as dark, so that a line along the edge keeps its width.
    wide = ndimage.binary_erosion(dark, np.ones((3, 3)), border_value=1)
    return f"{100 * dark.mean():.1f}% dark, {100 * wide.mean():.1f}% in lines 3 px wide or more"


def blue_crests(image: np.ndarray) -> str:
    """Hokusai's crests: dark blue clumps (blue - red > 25, luminance under 140, one-pixel
    gaps closed so that a crest's foam net counts as one) over 200 px in the picture
    scaled to 512 px wide, how many are over 1000 px, their median area and the dark blue
    share. Johnson's crests are separate clumps; swells in rows merge into a few bands."""
    picture = _at_512_wide(Image.fromarray(np.asarray(image, np.uint8)))
    r, g, b = np.moveaxis(np.asarray(picture, np.int32), -1, 0)
    blue = (b - r > 25) & ((299 * r + 587 * g + 114 * b) < 140_000)
    blobs, _ = ndimage.label(ndimage.binary_closing(blue, np.ones((3, 3))))
    areas = np.bincount(blobs.ravel())[1:]
    crests = areas[areas > 200]
    median = int(np.median(crests)) if len(crests) else 0
    return (f"{len(crests)} crests ({int((crests > 1000).sum())} over 1000 px), "
            f"median {median} px, {100 * blue.mean():.1f}% dark blue")


# Each painting's large shapes, counted in pixels: where the eye saw the gap to Johnson's
# outputs (issue #15) and a style or colour distance did not.
SHAPE_MEASURES = {"starry_night": yellow_stars, "great_wave": blue_crests,
                  "composition_vii": dark_lines}


def print_shape_measures(columns: list[tuple[str, list]], rows: list[str]):
    """A line per painting that has a shape measure: each column's (blank cells left out)."""
    measured = [(row, name) for row, name in enumerate(rows) if name in SHAPE_MEASURES]
    if measured:
        print("shapes: " + " | ".join(title for title, _ in columns))
    for row, name in measured:
        print(f"  {name:<20} " + " | ".join(
            "-" if (cells[row] == 255).all() else SHAPE_MEASURES[name](cells[row])
            for _, cells in columns))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="side_by_side", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--photo", type=Path, required=True, help="the photo the references show")
    p.add_argument("--reference", type=Path, default=None,
                   help="folder of <photo>_<painting>.jpg reference outputs; without it the "
                        "rows are the --paintings themselves (paintings no model was trained "
                        "on: what the arbitrary-style model makes of them)")
    p.add_argument("--styles", type=Path, default=Path("styles"), help="bundled models")
    p.add_argument("--paintings", type=Path, default=None,
                   help="folder of the painting files (<painting>.jpg, ...): adds a column of the "
                        "arbitrary-style model painting with each one's embedding")
    p.add_argument("--size", type=int, default=512, help="long side of every cell's image")
    p.add_argument("--hd", type=int, default=0, metavar="ITERATIONS",
                   help="add a column: the multi-style model's pictures refined in HD with this "
                        "many iterations (needs --paintings; about 50 s a cell at 512 px)")
    p.add_argument("--as-trained", action="store_true",
                   help="paint every painting at stroke size 1 instead of the size the "
                        "catalogue gives it (--styles/catalogue.json's stroke_sizes: what the "
                        "site serves when a request asks for none)")
    p.add_argument("--out", type=Path, default=Path("side_by_side.png"))
    args = p.parse_args(argv)
    try:
        photo = load_rgb(args.photo, long_side=args.size)
        if args.reference:
            refs = references(args.reference, args.photo.stem, args.size)
        elif args.paintings:
            refs = {q.stem: load_rgb(q, long_side=args.size) for q in sorted(
                args.paintings.iterdir()) if q.suffix.lower() in IMAGE_SUFFIXES}
        else:
            raise DataError("give --reference, or --paintings to compare with the paintings")
        dirs = sorted(q.parent for q in args.styles.glob("*/run.json"))
        if not refs or not (dirs or args.paintings):
            raise DataError(f"need {args.photo.stem}_*.jpg in {args.reference or args.paintings} and models "
                            f"in {args.styles}")
        strokes = {} if args.as_trained else catalogue_stroke_sizes(args.styles / "catalogue.json")
        for name, sizes in strokes.items():
            print(f"stroke sizes of {name} (the catalogue's; --as-trained for 1): " +
                  ", ".join(f"{painting} {size:g}" for painting, size in sizes.items()))
        models, files = {d.name: painter(d, strokes.get(d.name)) for d in dirs}, {}
        if args.paintings:
            files = {name: found for name in refs
                     if (found := next(args.paintings.glob(f"{name}.*"), None))}
            models["arbitrary (the painting's embedding)"] = arbitrary_painter(files)
        if args.hd > 0:
            add_hd_column(models, files, args.photo, args.hd)
        columns = sheet_columns(photo, refs, models)
        if files and list(files) == list(refs):
            print_colour_distances(columns, {n: load_rgb(f, long_side=args.size)
                                             for n, f in files.items()})
        print_shape_measures(columns, list(refs))
    except (DataError, RunDirError, OSError, WeightsError, ValueError) as e:
        print(f"side_by_side: error: {e}", file=sys.stderr)
        return 2
    height, width = photo.shape[:2]
    _grid(columns, width + 4, height + 4).save(args.out)
    print(f"side_by_side: wrote {args.out}: rows {', '.join(refs)}, a 50/50 mix of "
          f"{' + '.join(list(refs)[:2])}; columns {', '.join(c[0] for c in columns)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
