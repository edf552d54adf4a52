import json
import shutil

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


def test_a_multi_style_run_is_bundled_first_as_the_default(tmp_path, trained_run,
                                                           multi_style_run):
    styles = tmp_path / "styles"
    assert bundle_main([str(trained_run), "--name", "alpha", "--styles", str(styles)]) == 0
    assert bundle_main([str(multi_style_run), "--name", "masters", "--styles", str(styles)]) == 0
    entries = json.loads((styles / "catalogue.json").read_text())["styles"]
    assert [e["name"] for e in entries] == ["masters", "alpha"]
    assert entries[0]["multi_style"] and entries[0]["paintings"] == ["dawn", "dusk"]
    assert "multi_style" not in entries[1]
    # Each painting's own recipe, its style distance too (run.json records {} for none).
    assert entries[0]["training"]["painting_style_distances"] == {}
    assert entries[0]["training"]["painting_crops"] == {}
    from gateway.catalogue import load_catalogue

    catalogue = load_catalogue(styles / "catalogue.json")
    assert catalogue.multi_style == ("masters",) and list(catalogue.single_style) == ["alpha"]
    # Serving's choices in the entry (its stroke sizes) outlive a newer run's bundle.
    path = styles / "catalogue.json"
    data = json.loads(path.read_text())
    data["styles"][0]["stroke_sizes"] = {"dusk": 1.3}
    path.write_text(json.dumps(data))
    assert bundle_main([str(multi_style_run), "--name", "masters", "--styles", str(styles)]) == 0
    assert load_catalogue(path).stroke_size("masters", {"dawn": 0.5, "dusk": 0.5}) == 1.15


def test_bundle_counts_the_steps_of_the_runs_it_started_from(tmp_path, trained_run):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "steps_before": 90}))
    assert bundle_main([str(run), "--name", "beta", "--styles", str(tmp_path / "styles")]) == 0
    assert json.loads((tmp_path / "styles" / "catalogue.json").read_text())["styles"][0]["steps"] == 100
