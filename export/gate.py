"""The publishing gate: the SavedModel on disk must reproduce the Keras networks it was made
from (trained here, or the published arbitrary-style ones)."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from serving.contract import (
    INPUT_EMBEDDINGS,
    INPUT_IMAGES,
    INPUT_PAINTINGS,
    INPUT_PIXELS,
    INPUT_PRESERVE_COLORS,
    INPUT_STRENGTH,
    INPUT_STYLE_WEIGHTS,
    OUTPUT_EMBEDDINGS,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    OUTPUT_STYLE_NAMES,
    SIGNATURE_EMBED,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
    SIGNATURE_STYLE_NAMES,
)
from serving.samples import sample_jpeg
from training.arbitrary_net import PREDICTOR_SIZE

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


def full_style(painting: int, paintings: int) -> dict:
    """The controls of one image in one painting at full strength, colours its own."""
    return {INPUT_STYLE_WEIGHTS: tf.one_hot([painting], paintings),
            INPUT_STRENGTH: tf.constant([1.0]), INPUT_PRESERVE_COLORS: tf.constant([False])}


def check_saved_model(path: Path, transformer: keras.Model, precision: str = "float32",
                      style_names: list[str] | None = None) -> float:
    """Reloads `path`, compares its signatures with `transformer` (for a multi-style model
    `style_names`: each painting at full strength, and the names it reports); returns the
    max error in grey levels."""
    loaded = tf.saved_model.load(str(path))
    wanted = {SIGNATURE_ENCODED, SIGNATURE_PIXELS} | ({SIGNATURE_STYLE_NAMES} if style_names else set())
    missing = wanted - set(loaded.signatures)
    if missing:
        raise GateError(f"signatures missing from the SavedModel: {sorted(missing)}")
    pixels, error = gate_input(), 0.0
    for painting in range(len(style_names or [None])):
        controls = full_style(painting, len(style_names)) if style_names else {}
        got = loaded.signatures[SIGNATURE_PIXELS](**{INPUT_PIXELS: tf.constant(pixels),
                                                     **controls})[OUTPUT_PIXELS]
        error = max(error, float(np.max(np.abs(got.numpy().astype(np.float32) - _expected(
            transformer, pixels, painting, style_names)))))
    if error > MAX_GREY_LEVELS[precision]:
        raise GateError(f"exported model differs from the trained one by {error:g} grey levels "
                        f"(limit {MAX_GREY_LEVELS[precision]} for {precision})")
    if style_names:
        names = loaded.signatures[SIGNATURE_STYLE_NAMES]()[OUTPUT_STYLE_NAMES].numpy()
        if [n.decode() for n in names] != list(style_names):
            raise GateError(f"{SIGNATURE_STYLE_NAMES} gives {names}, not {style_names}")
    controls = full_style(0, len(style_names)) if style_names else {}
    encoded = loaded.signatures[SIGNATURE_ENCODED](**{INPUT_IMAGES: tf.constant([sample_jpeg(48)]),
                                                      **controls})
    decoded = tf.io.decode_jpeg(encoded[OUTPUT_IMAGES][0])
    if tuple(decoded.shape) != (48, 48, 3):
        raise GateError(f"{SIGNATURE_ENCODED} returned an image of shape {tuple(decoded.shape)}")
    return error


def _expected(transformer: keras.Model, pixels: np.ndarray, painting: int,
              style_names: list[str] | None) -> np.ndarray:
    """The trained network's uint8-rounded output, in painting number `painting`."""
    image = pixels.astype(np.float32)
    if style_names:
        conditions = transformer.input["style_weights"].shape[-1]  # paintings (+ identity)
        image = {"image": image, "style_weights": np.eye(conditions, dtype=np.float32)[[painting]]}
    return np.clip(np.round(np.asarray(transformer(image))), 0, 255)


def check_arbitrary(path: Path, predictor: keras.Model, transformer: keras.Model,
                    precision: str = "float32") -> float:
    """Reloads an arbitrary-style SavedModel: its embedding of a painting must be the
    predictor's, and its painting with that embedding the float32 transformer's (to
    MAX_GREY_LEVELS[precision]); returns the max error in grey levels."""
    loaded = tf.saved_model.load(str(path))
    missing = {SIGNATURE_ENCODED, SIGNATURE_PIXELS, SIGNATURE_EMBED} - set(loaded.signatures)
    if missing:
        raise GateError(f"signatures missing from the SavedModel: {sorted(missing)}")
    painting = gate_input(side=PREDICTOR_SIZE)[:, :, :-4]  # square: no crop
    encoded = tf.io.encode_png(painting[0])
    embedding = loaded.signatures[SIGNATURE_EMBED](**{INPUT_PAINTINGS: tf.stack([encoded])})[
        OUTPUT_EMBEDDINGS].numpy()
    expected = np.asarray(predictor(painting.astype(np.float32) / 255.0))
    if np.abs(embedding - expected).max() > 1e-3 * max(1.0, np.abs(expected).max()):
        raise GateError(f"{SIGNATURE_EMBED} differs from the style predictor by "
                        f"{np.abs(embedding - expected).max():g}")
    pixels = gate_input(side=64)[:, :, :-4]  # a multiple of 4: nothing padded
    got = loaded.signatures[SIGNATURE_PIXELS](**{
        INPUT_PIXELS: tf.constant(pixels), INPUT_EMBEDDINGS: tf.constant(embedding),
        INPUT_STRENGTH: tf.constant([1.0]), INPUT_PRESERVE_COLORS: tf.constant([False])})
    want = np.clip(np.round(255 * np.asarray(transformer(
        {"image": pixels.astype(np.float32) / 255.0, "embedding": embedding}))), 0, 255)
    error = float(np.abs(got[OUTPUT_PIXELS].numpy().astype(np.float32) - want).max())
    if error > MAX_GREY_LEVELS[precision]:
        raise GateError(f"exported model differs from the networks by {error:g} grey levels "
                        f"(limit {MAX_GREY_LEVELS[precision]} for {precision})")
    return error
