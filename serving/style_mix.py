"""A mix of paintings as people write it: `starry_night`, or `starry_night:0.7,great_wave:0.3`.
The gateway's `style` field and the video tool's `--style` both take it."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

MIX_SYNTAX = "a style name, or a mix such as starry_night:0.7,great_wave:0.3"


def parse_mix(text: str) -> dict[str, float]:
    """{painting: share}, the shares summing to 1; a ValueError that says what is wrong."""
    mix: dict[str, float] = {}
    for part in text.strip().split(","):
        name, colon, weight = (s.strip() for s in part.partition(":"))
        if not name or (colon and not weight):
            raise ValueError(f"malformed style {text!r}: expected {MIX_SYNTAX}")
        try:
            value = float(weight) if colon else 1.0
        except ValueError:
            raise ValueError(f"malformed weight {weight!r} for {name!r}: expected {MIX_SYNTAX}") \
                from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"the weight of {name!r} must be a number >= 0, got {weight!r}")
        if name in mix:
            raise ValueError(f"style {name!r} appears twice in {text!r}")
        mix[name] = value
    total = sum(mix.values())
    if total <= 0:
        raise ValueError(f"the weights of {text!r} are all 0: give at least one a weight > 0")
    return {name: value / total for name, value in mix.items()}


# Stroke size: how large the brushwork is relative to the picture. A network's strokes
# have a fixed size in pixels, so a picture painted at 1/stroke_size of its size and
# enlarged back has strokes stroke_size times as large (the gateway, the video tool and
# the side-by-side all paint so). A model's entry in styles/catalogue.json may give its
# paintings their own (`"stroke_sizes": {painting: size}`, gateway/catalogue.py); the
# others are painted at 1, as trained.
STROKE_SIZES = (0.5, 2.0)  # the sizes one may ask for, finest to largest
STROKE_SIZE_RULE = (f"a number from {STROKE_SIZES[0]} (finer strokes) to {STROKE_SIZES[1]} "
                    "(larger ones), 1 as trained")


def check_stroke_size(size: float, what: str = "stroke_size") -> float:
    low, high = STROKE_SIZES
    if not (isinstance(size, (int, float)) and low <= size <= high):  # NaN fails too
        raise ValueError(f"{what} must be {STROKE_SIZE_RULE}, got {size!r}")
    return float(size)


def catalogue_stroke_sizes(path: Path) -> dict[str, dict[str, float]]:
    """{model: {painting: stroke size}} from a catalogue file, each size checked (a
    ValueError names the model); {} when there is no such file."""
    try:
        entries = json.loads(Path(path).read_text()).get("styles", [])
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from None
    return stroke_sizes_of(entries)


def stroke_sizes_of(entries: list[dict]) -> dict[str, dict[str, float]]:
    """{model: {painting: stroke size}} of a catalogue's `styles` entries, checked."""
    return {e["name"]: _stroke_sizes(e) for e in entries if e.get("stroke_sizes")}


def _stroke_sizes(entry: dict) -> dict[str, float]:
    sizes = entry["stroke_sizes"]
    if not isinstance(sizes, dict):
        raise ValueError(f"{entry['name']}'s stroke_sizes must map paintings to sizes, "
                         f"got {sizes!r}")
    return {name: check_stroke_size(size, f"{entry['name']}'s stroke size for {name!r}")
            for name, size in sizes.items()}


def mix_stroke_size(sizes: dict[str, float], mix: dict[str, float]) -> float:
    """The stroke size a mix is painted at: its paintings' `sizes`, 1 where `sizes` gives
    none, weighted by their shares."""
    return round(sum(share * sizes.get(name, 1.0) for name, share in mix.items()), 2)


def resized(batch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [n, height, width, 3] pictures at `size` (width, height), as a stroke size
    scales them: Lanczos down, bicubic up (Lanczos rings on enlarged strokes). The gateway
    does the same to its JPEGs (gateway/images.py)."""
    down = size[0] < batch.shape[2]
    resample = Image.Resampling.LANCZOS if down else Image.Resampling.BICUBIC
    return np.stack([np.asarray(Image.fromarray(frame).resize(size, resample)) for frame in batch])
