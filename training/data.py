"""The stream of content photos for training (training/images.py finds and checks them):
tf.data on TensorFlow; on other backends (training/backend.py) Pillow in a thread pool,
the same random crops."""
from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from training.backend import on_tensorflow

# Resize the short side to a random size between 1x and 1.5x the crop, so crops see
# objects at several scales, as photos uploaded by users do.
SCALES = (1.0, 1.5)


def _tf_random_crop(path, image_size: int):
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    shape = tf.shape(image)
    short = tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    target = tf.random.uniform([], *SCALES) * image_size
    scale = target / short
    new_size = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
    image = tf.image.resize(image, tf.maximum(new_size, image_size), antialias=True)
    image = tf.image.random_crop(image, [image_size, image_size, 3])
    return tf.image.random_flip_left_right(image)


def _tf_dataset(paths: list[str], image_size: int, batch_size: int, seed: int | None):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(lambda p: _tf_random_crop(p, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    # A file that passed the Pillow check but still fails in TF is dropped, not fatal.
    ds = ds.ignore_errors(log_warning=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _pil_random_crop(path: str, image_size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = rng.uniform(*SCALES) * image_size / min(img.size)
        size = [max(image_size, math.ceil(side * scale)) for side in img.size]
        # Pillow's bilinear filter widens with the reduction: antialiased, as tf.data's.
        pixels = np.asarray(img.resize(size, Image.Resampling.BILINEAR), np.float32)
    top = rng.integers(pixels.shape[0] - image_size + 1)
    left = rng.integers(pixels.shape[1] - image_size + 1)
    crop = pixels[top:top + image_size, left:left + image_size]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def _pil_batches(paths: list[str], image_size: int, batch_size: int, seed: int | None):
    """Endless batches; a few batches' crops are read ahead while the device trains."""
    rng = np.random.default_rng(seed)

    def jobs():
        while True:
            for path in rng.permutation(paths):
                yield str(path), int(rng.integers(2**31))

    work, pending = jobs(), deque()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        while True:
            while len(pending) < 4 * batch_size:
                path, crop_seed = next(work)
                pending.append(pool.submit(_pil_random_crop, path, image_size, crop_seed))
            yield (np.stack([pending.popleft().result() for _ in range(batch_size)]),)


def content_dataset(paths: list[str], image_size: int, batch_size: int,
                    seed: int | None = None):
    """Endless float32 [batch, size, size, 3] RGB crops in [0, 255], for `fit()` (a generator
    yields them as 1-tuples, Keras' form of inputs without targets)."""
    if on_tensorflow():
        return _tf_dataset(paths, image_size, batch_size, seed)
    return _pil_batches(paths, image_size, batch_size, seed)
