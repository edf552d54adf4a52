"""A mix of paintings as people write it: `starry_night`, or `starry_night:0.7,great_wave:0.3`.
The gateway's `style` field and the video tool's `--style` both take it."""
from __future__ import annotations

import math

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


def mix_stroke_size(sizes: dict[str, float], mix: dict[str, float]) -> float:
    """The stroke size a mix is painted at (the catalogue's `stroke_sizes`, gateway/
    catalogue.py): its paintings' sizes, 1 (as trained) where `sizes` gives none, weighted
    by their shares."""
    return round(sum(share * sizes.get(name, 1.0) for name, share in mix.items()), 2)
