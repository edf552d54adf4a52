"""Which Keras backend trains, and on what.

TensorFlow is the default and the one the exported models serve on. JAX (set
KERAS_BACKEND=jax) trains the same networks on GPU machines that have JAX but no
TensorFlow build for their CUDA (docs/training.md, "Training on a GPU without
TensorFlow"); TensorFlow-only kernels, checkpoints and TensorBoard are then left out.
"""
from __future__ import annotations

import keras


def on_tensorflow() -> bool:
    return keras.backend.backend() == "tensorflow"


def gpu_count() -> int:
    """GPUs the backend sees."""
    if on_tensorflow():
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    import jax

    return sum(device.platform == "gpu" for device in jax.devices())
