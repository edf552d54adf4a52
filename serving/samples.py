"""The one synthetic photo of the project: smooth gradients plus noise, deterministic per
seed. Warm-up records, the rollout's smoke Predict, the publishing gate, the load tester
and the tests all use it, so none of them needs a real photo."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def sample_pixels(width: int, height: int | None = None, seed: int = 0) -> np.ndarray:
    """uint8 [height, width, 3] RGB: gradients in x and y plus noise."""
    height = height or width
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    x, y = x / width, y / height
    base = np.stack([x, y, 1 - x * y], axis=-1) * 200
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def sample_jpeg(side: int, seed: int = 0, height: int | None = None) -> bytes:
    """sample_pixels(side, height or side, seed) encoded as a JPEG (quality 90)."""
    buffer = io.BytesIO()
    Image.fromarray(sample_pixels(side, height, seed)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
