
from PIL import Image

from tests.conftest import bundled
from training.yardstick import main


def test_the_yardstick_compares_each_network_with_the_optimisation(tmp_path, trained_run,
                                                                   multi_style_run, style_image,
                                                                   photo_dir, capsys):
    styles = bundled(tmp_path / "styles", alpha=trained_run, multi=multi_style_run)
    out = tmp_path / "yardstick.png"
    assert main(["--styles", str(styles), "--photos", str(photo_dir / "nested"),
                 "--style-images", str(style_image.parent), "--out", str(out), "--size", "32",
                 "--iterations", "12", "--limit", "1"]) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("alpha"))
    fast_style, optimised_style = map(float, row.split()[3:5])
    assert optimised_style < fast_style  # the optimisation beats the network on its own loss
    assert "multi" not in printed  # multi-style networks have no single painting to compare
    assert Image.open(out).size == (3 * 36, 24 + 36)  # photo, alpha fast, alpha optimised
