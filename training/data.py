"""The stream of content photos for training (training/images.py finds and checks them):
tf.data on TensorFlow; on other backends (training/backend.py) Pillow in a thread pool,
the same random crops. With targets (training/targets.py makes them) each batch also
holds crops and their refined pictures, flipped alike."""
from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from training.backend import on_tensorflow
from training.images import DataError, load_rgb

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


def random_crop(path: str, image_size: int, seed: int) -> np.ndarray:
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
                pending.append(pool.submit(random_crop, path, image_size, crop_seed))
            yield (np.stack([pending.popleft().result() for _ in range(batch_size)]),)


TARGET_PHOTOS = "photos"


def target_paths(folder: Path, painting: str, index: int) -> tuple[Path, Path]:
    """(the crop, its refined picture) of target number `index` in a targets folder."""
    name = f"{index:04d}.png"
    return folder / TARGET_PHOTOS / name, folder / painting / name


def targeted_paintings(folder: Path, paintings: list[str]) -> list[str]:
    """The paintings (file stems) that have targets in `folder`."""
    return [name for name in paintings if (folder / name).is_dir()]


def load_targets(folder: Path, paintings: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The crops [N,size,size,3] and their refined pictures [N,P,size,size,3] (uint8) of
    the N targets that all P `paintings` have: one batch then holds every painting's."""
    pairs = [[target_paths(folder, name, int(crop.stem)) for name in paintings]
             for crop in sorted((folder / TARGET_PHOTOS).glob("*.png")) if crop.stem.isdigit()]
    pairs = [row for row in pairs if all(refined.is_file() for _, refined in row)]
    if not pairs:
        raise DataError(f"no targets in {folder} for {', '.join(paintings)} "
                        "(python -m training.targets makes them)")
    photos = np.stack([load_rgb(row[0][0]) for row in pairs])
    refined = np.stack([np.stack([load_rgb(path) for _, path in row]) for row in pairs])
    if photos.shape[1:3] != (size, size) or refined.shape[2:4] != (size, size):
        raise DataError(f"the targets in {folder} are {photos.shape[2]}x{photos.shape[1]}, "
                        f"not the --image-size {size}")
    return photos, refined


def _tf_targets(crops, refined, batch_size: int, seed: int | None):
    import tensorflow as tf

    def flip(crop, pictures):
        flipped = tf.random.uniform([]) < 0.5
        return (tf.cond(flipped, lambda: crop[:, ::-1], lambda: crop),
                tf.cond(flipped, lambda: pictures[:, :, ::-1], lambda: pictures))

    ds = tf.data.Dataset.from_tensor_slices((crops, refined))
    ds = ds.shuffle(len(crops), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(lambda c, r: flip(tf.cast(c, tf.float32), tf.cast(r, tf.float32)))
    return ds.batch(batch_size, drop_remainder=True)


def _numpy_targets(crops, refined, batch_size: int, seed: int | None):
    rng = np.random.default_rng(seed)
    while True:
        picked = rng.integers(len(crops), size=batch_size)
        flip = rng.random(batch_size) < 0.5
        c, r = crops[picked].astype(np.float32), refined[picked].astype(np.float32)
        c[flip], r[flip] = c[flip][:, :, ::-1], r[flip][:, :, :, ::-1]
        yield c, r


def content_dataset(paths: list[str], image_size: int, batch_size: int,
                    seed: int | None = None, targets: tuple | None = None):
    """Endless float32 [batch, size, size, 3] RGB crops in [0, 255], for `fit()` (a generator
    yields them as 1-tuples, Keras' form of inputs without targets). With `targets`
    (load_targets'), each batch is {"photos", "crops", "refined"}."""
    if on_tensorflow():
        photos = _tf_dataset(paths, image_size, batch_size, seed)
        if targets is None:
            return photos
        import tensorflow as tf

        pairs = _tf_targets(*targets, batch_size, seed)
        return tf.data.Dataset.zip(photos, pairs).map(
            lambda p, pair: ({"photos": p, "crops": pair[0], "refined": pair[1]},))
    photos = _pil_batches(paths, image_size, batch_size, seed)
    if targets is None:
        return photos
    # Both streams are endless: strict would never have an end to compare.
    pairs = _numpy_targets(*targets, batch_size, seed)
    return (({"photos": p, "crops": c, "refined": r},)
            for (p,), (c, r) in zip(photos, pairs, strict=False))
