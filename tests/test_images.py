import io

import pytest
from PIL import Image

from gateway.errors import BadParameter, ImageTooLarge, NoImage
from gateway.images import UploadLimits, prepare_image
from tests.conftest import write_image


def test_upright_rgb_jpeg_that_fits_is_sent_unchanged(tmp_path):
    data = write_image(tmp_path / "a.jpg", size=(64, 48)).read_bytes()
    prepared = prepare_image(data, "image/jpeg", max_side=64)
    assert prepared.jpeg == data and (prepared.width, prepared.height) == (64, 48)


def test_larger_jpeg_is_scaled_and_reencoded(tmp_path):
    data = write_image(tmp_path / "a.jpg", size=(64, 48)).read_bytes()
    prepared = prepare_image(data, "image/jpeg", max_side=32)
    assert prepared.jpeg != data
    assert Image.open(io.BytesIO(prepared.jpeg)).size == (32, 24)
    assert (prepared.original_width, prepared.original_height) == (64, 48)


def test_truncated_jpeg_is_unreadable(tmp_path):
    data = write_image(tmp_path / "a.jpg", size=(64, 48)).read_bytes()
    with pytest.raises(NoImage):
        prepare_image(data[: len(data) // 2], "image/jpeg", max_side=64)


def test_pixel_limit(tmp_path):
    data = write_image(tmp_path / "a.png", size=(64, 48)).read_bytes()
    with pytest.raises(ImageTooLarge):
        prepare_image(data, "image/png", max_side=64, limits=UploadLimits(max_pixels=1000))


@pytest.mark.parametrize(("size", "max_side", "message"), [
    ((12, 40), 64, "image is 12x40 pixels"),
    ((400, 20), 64, "scaled to max_side 64, the image is 64x3 pixels"),
])
def test_images_too_small_for_the_model_are_refused(tmp_path, size, max_side, message):
    data = write_image(tmp_path / "a.png", size=size).read_bytes()
    with pytest.raises(BadParameter, match=message):
        prepare_image(data, "image/png", max_side=max_side)
