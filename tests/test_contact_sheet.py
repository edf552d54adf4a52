import json
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


def test_style_losses_are_scored_with_each_painting_s_own_recipe(tmp_path, multi_style_run,
                                                                 photo_dir, capsys):
    styles = bundled(tmp_path / "styles", multi=multi_style_run)
    run_json = styles / "multi" / "run.json"
    info = json.loads(run_json.read_text())
    # The printed style loss is before the style weight: dawn's layers carry it.
    unweighted = {layer: 0.0 for layer in info["losses"]["style_layers"]}
    run_json.write_text(json.dumps({**info, "painting_style_layers": {"dawn": unweighted}}))
    assert main(["--styles", str(styles), "--photos", str(photo_dir / "nested"),
                 "--style-images", str(multi_style_run.parent / "paintings"),
                 "--out", str(tmp_path / "sheet.png"), "--size", "48", "--cell", "64"]) == 0
    style_loss = {line.split()[0]: float(line.split()[-1])
                  for line in capsys.readouterr().out.splitlines() if line.startswith("multi/")}
    assert style_loss["multi/dawn"] == 0 and style_loss["multi/dusk"] > 0
