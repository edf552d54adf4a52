"""Upload checks and normalisation, all with Pillow, before anything reaches the model.

Whatever arrives (any mode, EXIF-rotated, animated, 16-bit, CMYK, with alpha), the model
server receives an upright 8-bit RGB JPEG whose long side is at most `max_side`.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps

from gateway.errors import BadParameter, ImageTooLarge, NoImage, UnsupportedImageType
from serving.contract import JPEG_QUALITY

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "MPO"}


@dataclass(frozen=True)
class UploadLimits:
    max_pixels: int = 50_000_000
    # The transform net reflect-pads by up to 4 pixels, which needs more than 4 per side;
    # below 16 there is nothing to paint anyway.
    min_side: int = 16


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int
    original_width: int
    original_height: int


def _open(data: bytes, content_type: str | None, limits: UploadLimits) -> Image.Image:
    if not data:
        raise NoImage("no image: send the photo as the multipart field 'image'")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise ImageTooLarge(f"image rejected: {e}") from None
    except OSError:  # UnidentifiedImageError, or a header cut short
        if content_type and not content_type.startswith(("image/", "application/octet-stream")):
            raise UnsupportedImageType(f"not an image type we accept ({content_type}); "
                                       "send JPEG, PNG, WebP, GIF, BMP or TIFF") from None
        raise NoImage("unreadable image: the file is not a picture Pillow can decode") from None
    if img.format not in ACCEPTED_FORMATS:
        raise UnsupportedImageType(f"{img.format} images are not accepted; "
                                   "send JPEG, PNG, WebP, GIF, BMP or TIFF")
    if img.width * img.height > limits.max_pixels:
        raise ImageTooLarge(f"image has {img.width}x{img.height} pixels; "
                            f"the limit is {limits.max_pixels // 1_000_000} megapixels")
    _check_min_side(img.size, limits, "image")
    return img


def _check_min_side(size: tuple[int, int], limits: UploadLimits, what: str) -> None:
    if min(size) < limits.min_side:
        raise BadParameter(f"{what} is {size[0]}x{size[1]} pixels; each side must be at "
                           f"least {limits.min_side}")


def _to_rgb(img: Image.Image) -> Image.Image:
    img.seek(0)  # animated: the first frame
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def _sends_as_is(img: Image.Image, max_side: int) -> bool:
    """An upright 8-bit RGB JPEG that fits needs no re-encoding (and loses nothing)."""
    orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    return (img.format == "JPEG" and img.mode == "RGB" and orientation == 1
            and max(img.size) <= max_side)


def prepare_image(data: bytes, content_type: str | None, max_side: int,
                  limits: UploadLimits = UploadLimits()) -> PreparedImage:
    img = _open(data, content_type, limits)
    try:
        img.load()
        if _sends_as_is(img, max_side):
            return PreparedImage(data, img.width, img.height, img.width, img.height)
        rgb = _to_rgb(img)
    except (OSError, ValueError, SyntaxError) as e:
        raise NoImage(f"unreadable image: {e}") from None
    original = rgb.size
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        _check_min_side(rgb.size, limits, f"scaled to max_side {max_side}, the image")
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=95)
    return PreparedImage(buffer.getvalue(), rgb.width, rgb.height, *original)


def stroke_scaled(image: PreparedImage, stroke_size: float, max_side: int) -> bytes:
    """The JPEG the model paints for `stroke_size` (paint_request.parse_stroke_size): the
    image scaled by 1 / stroke_size, its long side at most `max_side`."""
    scale = min(1.0 / stroke_size, max_side / max(image.width, image.height))
    size = (max(16, round(image.width * scale)), max(16, round(image.height * scale)))
    if size == (image.width, image.height):
        return image.jpeg
    return resized_jpeg(image.jpeg, size)


def resized_jpeg(jpeg: bytes, size: tuple[int, int]) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as img:
        # Lanczos down, bicubic up: Lanczos rings on a painting's hard strokes when it
        # enlarges them.
        smaller = size[0] * size[1] < img.width * img.height
        resample = Image.Resampling.LANCZOS if smaller else Image.Resampling.BICUBIC
        out = img.convert("RGB").resize(size, resample)
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
