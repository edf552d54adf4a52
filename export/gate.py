"""The publishing gate: the SavedModel on disk must reproduce the trained Keras model."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from serving.contract import (
    INPUT_IMAGES,
    INPUT_PIXELS,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
)
from serving.samples import sample_jpeg

# How far an export may be from the trained float32 network on the gate's input, in grey
# levels, by served precision. Measured on it with the four bundled styles: float16 at most
# 2 levels apart, bfloat16 (8-bit mantissa) at most 6, 0.4 on average. A wrong weight or
# layer moves pixels by tens of levels, so these limits still catch a broken export.
MAX_GREY_LEVELS = {"float32": 1, "float16": 6, "bfloat16": 12}


class GateError(Exception):
    """The exported model does not behave like the trained one."""


def gate_input(side: int = 64) -> np.ndarray:
    """A fixed uint8 [1, side, side+4, 3] input (not square, not a multiple of 8)."""
    rng = np.random.default_rng(1234)
    return rng.integers(0, 256, size=(1, side, side + 4, 3), dtype=np.uint8)


def check_saved_model(path: Path, transformer: keras.Model, precision: str = "float32") -> float:
    """Reloads `path`, compares both signatures with `transformer`; returns the max error."""
    loaded = tf.saved_model.load(str(path))
    missing = {SIGNATURE_ENCODED, SIGNATURE_PIXELS} - set(loaded.signatures)
    if missing:
        raise GateError(f"signatures missing from the SavedModel: {sorted(missing)}")
    pixels = gate_input()
    expected = np.clip(np.round(np.asarray(transformer(pixels.astype(np.float32)))), 0, 255)
    got = loaded.signatures[SIGNATURE_PIXELS](**{INPUT_PIXELS: tf.constant(pixels)})[OUTPUT_PIXELS]
    error = float(np.max(np.abs(got.numpy().astype(np.float32) - expected)))
    if error > MAX_GREY_LEVELS[precision]:
        raise GateError(f"exported model differs from the trained one by {error:g} grey levels "
                        f"(limit {MAX_GREY_LEVELS[precision]} for {precision})")
    encoded = loaded.signatures[SIGNATURE_ENCODED](**{INPUT_IMAGES: tf.constant([sample_jpeg(48)])})
    decoded = tf.io.decode_jpeg(encoded[OUTPUT_IMAGES][0])
    if tuple(decoded.shape) != (48, 48, 3):
        raise GateError(f"{SIGNATURE_ENCODED} returned an image of shape {tuple(decoded.shape)}")
    return error
