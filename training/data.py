"""Training images: the style painting and a tf.data pipeline of content photos."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}


class DataError(Exception):
    """The style image or the content folder cannot be used."""


def load_rgb(path: Path, long_side: int | None = None) -> np.ndarray:
    """Reads an image file as uint8 RGB [H,W,3], optionally scaled to a long side."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if long_side:
                scale = long_side / max(img.size)
                size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
                img = img.resize(size, Image.Resampling.LANCZOS)
            return np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"cannot read image {path}: {e}") from None


def _usable(path: Path, min_side: int) -> bool:
    """True when Pillow can decode the file and its short side is at least `min_side`."""
    try:
        with Image.open(path) as img:
            img.load()
            if min(img.size) < min_side:
                warnings.warn(f"skipping {path}: {img.width}x{img.height} is smaller than {min_side} px",
                              stacklevel=2)
                return False
            return True
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        warnings.warn(f"skipping {path}: cannot decode ({e})", stacklevel=2)
        return False


def find_content_images(content_dir: Path, min_side: int) -> list[str]:
    """All decodable photos under `content_dir` (recursively) with short side >= min_side."""
    if not content_dir.is_dir():
        raise DataError(f"content folder not found: {content_dir}")
    candidates = sorted(p for p in content_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    usable = [str(p) for p in candidates if _usable(p, min_side)]
    if not usable:
        raise DataError(
            f"no usable photos in {content_dir}: need JPEG/PNG files at least {min_side} px "
            f"on the short side ({len(candidates)} candidates found)"
        )
    return usable


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
