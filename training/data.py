"""The tf.data pipeline of content photos (training/images.py finds and checks them)."""
from __future__ import annotations

import tensorflow as tf


def _random_crop(path, image_size: int):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    shape = tf.shape(image)
    # Resize the short side to a random size between 1x and 1.5x the crop, so crops see
    # objects at several scales, as photos uploaded by users do.
    short = tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    target = tf.random.uniform([], 1.0, 1.5) * image_size
    scale = target / short
    new_size = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
    image = tf.image.resize(image, tf.maximum(new_size, image_size), antialias=True)
    image = tf.image.random_crop(image, [image_size, image_size, 3])
    return tf.image.random_flip_left_right(image)


def content_dataset(paths: list[str], image_size: int, batch_size: int,
                    seed: int | None = None) -> tf.data.Dataset:
    """Endless dataset of float32 [batch, size, size, 3] RGB crops in [0, 255]."""
    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(lambda p: _random_crop(p, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    # A file that passed the Pillow check but still fails in TF is dropped, not fatal.
    ds = ds.ignore_errors(log_warning=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
