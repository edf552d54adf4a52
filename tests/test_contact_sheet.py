import shutil

from PIL import Image

from training.contact_sheet import main


def test_contact_sheet_renders_every_photo_in_every_style(tmp_path, trained_run, style_image,
                                                          photo_dir, capsys):
    styles = tmp_path / "styles"
    for name in ("alpha", "beta"):
        (styles / name).mkdir(parents=True)
        for f in ("run.json", "transformer.weights.h5"):
            shutil.copy(trained_run / f, styles / name / f)
    out = tmp_path / "sheet.png"
    assert main(["--styles", str(styles), "--photos", str(photo_dir / "nested"),
                 "--style-images", str(style_image.parent), "--out", str(out),
                 "--size", "48", "--cell", "64"]) == 0
    sheet = Image.open(out)
    assert sheet.size == (3 * 64, 24 + 2 * 64)  # photo + 2 styles; 2 photos in nested/
    printed = capsys.readouterr().out
    assert "alpha" in printed and "beta" in printed


def test_missing_inputs_are_a_clear_error(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    assert main(["--styles", str(tmp_path), "--photos", str(tmp_path / "photos"),
                 "--style-images", str(tmp_path)]) == 2
    assert "need photos" in capsys.readouterr().err

