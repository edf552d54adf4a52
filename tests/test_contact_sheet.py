import shutil

from PIL import Image

from tests.conftest import bundled
from training.contact_sheet import main


def test_contact_sheet_renders_every_photo_in_every_style(tmp_path, trained_run, style_image,
                                                          multi_style_run, photo_dir, capsys):
    styles = bundled(tmp_path / "styles", alpha=trained_run, beta=trained_run, multi=multi_style_run)
    paintings = tmp_path / "paintings"
    shutil.copytree(multi_style_run.parent / "paintings", paintings)
    shutil.copy(style_image, paintings)
    out = tmp_path / "sheet.png"
    assert main(["--styles", str(styles), "--photos", str(photo_dir / "nested"),
                 "--style-images", str(paintings), "--out", str(out),
                 "--size", "48", "--cell", "64"]) == 0
    sheet = Image.open(out)
    # photo + 2 single styles + the 2 paintings of the multi-style model; 2 photos in nested/
    assert sheet.size == (5 * 64, 24 + 2 * 64)
    printed = capsys.readouterr().out
    assert "alpha" in printed and "beta" in printed
    assert "multi/dawn" in printed and "multi/dusk" in printed


def test_missing_inputs_are_a_clear_error(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    assert main(["--styles", str(tmp_path), "--photos", str(tmp_path / "photos"),
                 "--style-images", str(tmp_path)]) == 2
    assert "need photos" in capsys.readouterr().err

