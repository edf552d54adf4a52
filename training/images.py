"""Reading images from disk: paintings, and a folder of photos checked before training.

Without TensorFlow, so that the CLIs built on it answer `--help` and reject a bad path at
once; training/data.py streams the photos to training."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}


class DataError(Exception):
    """The style image or the content folder cannot be used."""


def load_rgb(path: Path, long_side: int | None = None,
             box: list[int] | None = None) -> np.ndarray:
    """Reads an image file as uint8 RGB [H,W,3], optionally cropped to `box` (left, top,
    right, bottom in its pixels, as Pillow's crop) and then scaled to a long side."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if box:
                left, top, right, bottom = box
                if right > img.width or bottom > img.height:
                    # Pillow would pad the outside with black, which a style loss would learn.
                    raise DataError(f"crop {left}:{top}:{right}:{bottom} reaches outside "
                                    f"{path}, which is {img.width}x{img.height}")
                img = img.crop(box)
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
