"""Which Keras backend trains, and on what.

TensorFlow is the default and the one the exported models serve on. JAX (set
KERAS_BACKEND=jax) trains the same networks on GPU machines that have JAX but no
TensorFlow build for their CUDA (docs/training.md); TensorFlow-only kernels, checkpoints
and TensorBoard are then left out. Keras is imported inside the functions, so that the
CLI can check KERAS_BACKEND before Keras loads one.
"""
from __future__ import annotations

import os

BACKENDS = ("tensorflow", "jax")


def unsupported_backend() -> str | None:
    """KERAS_BACKEND when it names a backend training has no step for."""
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    return None if name in BACKENDS else name


def on_tensorflow() -> bool:
    import keras

    return keras.backend.backend() == "tensorflow"


def gpu_count() -> int:
    """GPUs the backend sees."""
    if on_tensorflow():
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    import jax

    return sum(device.platform == "gpu" for device in jax.devices())
