"""Building a network in a dtype other than the process's."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras


@contextmanager
def building_in(policy: str) -> Iterator[None]:
    """Layers built inside take `policy` ("float32", "bfloat16", "mixed_bfloat16", ...):
    Keras reads its global policy when a layer is made and offers no scope of its own,
    and some networks (VGG19, MobileNetV2 from keras.applications) take no dtype."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
