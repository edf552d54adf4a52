"""The transform networks `python -m training --preset` builds, by name.

Kept apart from the Keras code that builds them (training/transformer_net.py,
training/arbitrary_net.py) so that the CLIs can check a name, and answer `--help`, without
starting TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """Channel widths of the three resolution stages and the number of residual blocks."""

    channels: tuple[int, int, int]
    residual_blocks: int


PRESETS: dict[str, Preset] = {
    # The paper's network (Johnson et al. 2016, supplementary table 1).
    "johnson": Preset(channels=(32, 64, 128), residual_blocks=5),
    # Half the width: about a quarter of the FLOPs of the residual trunk, chosen for CPU
    # serving (docs/benchmarks.md says what it costs in quality).
    "fast": Preset(channels=(16, 32, 64), residual_blocks=5),
    # For tests only: trains in seconds, looks like nothing.
    "tiny": Preset(channels=(4, 8, 8), residual_blocks=1),
}

# Magenta's arbitrary-style transformer as a multi-style network (arbitrary_net.py).
PAINTING_PRESET = "magenta"


def preset_names() -> list[str]:
    """Every network `build_transformer` builds: the presets above and "magenta"."""
    return sorted([*PRESETS, PAINTING_PRESET])
