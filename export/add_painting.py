"""`python -m export.add_painting PAINTING --name NAME --title ... --artist ... --year ...
--licence ...`: add a painting to the site as a named style in seconds, without training.

Embeds the painting with the arbitrary-style model's style predictor (the same network and
preprocessing as its `embed_paintings` signature: the centre square at 256 px), writes
the embedding with the title, artist, year and licence into the catalogue's `paintings`,
and a 240 px thumbnail to gateway/static/paintings/NAME.jpg. The gateway then offers it
in the gallery and the API like a trained style, painted by the arbitrary-style model.
Only add paintings whose licence allows it: the thumbnail ships with the site.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from serving import tf_env

NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")
THUMBNAIL_SIDE = 240


def embed(painting: Image.Image) -> list[float]:
    import tensorflow as tf

    from export.stylizer import ArbitraryStylizer
    from training.arbitrary_net import build_arbitrary_transformer, build_style_predictor
    from training.magenta_weights import load_predictor

    predictor = build_style_predictor()
    load_predictor(predictor)
    # The serving module's own preprocessing, so the catalogue's embedding is the one the
    # served model would compute for this painting.
    module = ArbitraryStylizer(predictor, build_arbitrary_transformer())
    pixels = tf.constant(np.asarray(painting.convert("RGB"), np.float32)[None])
    return [round(float(v), 6) for v in module.embedding(pixels)[0].numpy()]


def add(painting_file: Path, name: str, fields: dict, catalogue: Path, static: Path) -> dict:
    with Image.open(painting_file) as image:
        image.load()
        painting = image.convert("RGB")
    entry = {"name": name, **{k: v for k, v in fields.items() if v},
             "thumbnail": f"paintings/{name}.jpg", "embedding": embed(painting)}
    thumbnail = painting.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.LANCZOS)
    (static / "paintings").mkdir(parents=True, exist_ok=True)
    thumbnail.save(static / entry["thumbnail"], quality=82, optimize=True)
    data = json.loads(catalogue.read_text()) if catalogue.exists() else {"styles": []}
    data["paintings"] = [p for p in data.get("paintings", []) if p["name"] != name] + [entry]
    catalogue.write_text(json.dumps(data, indent=2) + "\n")
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="export.add_painting", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("painting", type=Path, help="image file of the painting")
    p.add_argument("--name", required=True, help="style name: a-z, 0-9 and _")
    for field in ("title", "artist", "year", "licence"):
        p.add_argument(f"--{field}", default="", help=f"the painting's {field}")
    p.add_argument("--catalogue", type=Path, default=Path("styles/catalogue.json"))
    p.add_argument("--static", type=Path, default=Path("gateway/static"),
                   help="the gateway's static folder (the thumbnail goes in paintings/)")
    args = p.parse_args(argv)
    if not NAME.match(args.name):
        print(f"add_painting: error: bad name {args.name!r}: use a-z, 0-9 and _", file=sys.stderr)
        return 2
    tf_env.apply()
    from training.magenta_weights import WeightsError

    fields = {k: getattr(args, k) for k in ("title", "artist", "year", "licence")}
    try:
        add(args.painting, args.name, fields, args.catalogue, args.static)
    except (OSError, UnidentifiedImageError, json.JSONDecodeError, WeightsError) as e:
        print(f"add_painting: error: {e}", file=sys.stderr)
        return 1
    print(f"add_painting: {args.name} is in {args.catalogue}; reload the gateway to offer it "
          "(the arbitrary-style model paints it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
