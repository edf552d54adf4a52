import json

from training.bundle_style import main as bundle_main


def test_bundle_copies_weights_and_records_the_training(tmp_path, trained_run, capsys):
    styles = tmp_path / "styles"
    assert bundle_main([str(trained_run), "--name", "alpha", "--styles", str(styles),
                        "--title", "Alpha", "--artist", "A. Painter", "--year", "1900"]) == 0
    assert bundle_main([str(trained_run), "--name", "alpha", "--styles", str(styles)]) == 0
    entry = json.loads((styles / "catalogue.json").read_text())["styles"][0]
    assert entry["title"] == "Alpha" and entry["steps"] == 10
    assert entry["training"]["preset"] == "tiny"
    assert sorted(p.name for p in (styles / "alpha").iterdir()) == ["run.json",
                                                                    "transformer.weights.h5"]
