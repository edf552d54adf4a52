"""training.merge_runs: files only, so the runs here are written by hand in the layout
save_painting_network writes (test_training checks that layout against a trained network)."""
import json

import h5py
import numpy as np
import pytest

from training.bundle_style import TUNED, catalogue_entry
from training.magenta_weights import TABLE_KEY, TRANSFORMER_KEY
from training.merge_runs import main as merge_main
from training.run_dir import (
    painting_crops,
    painting_layer_weights,
    painting_sizes,
    painting_style_distances,
    painting_style_weights,
    read_run_info,
    tuned_network_of,
)

WIDTH = 4


def _run(path, styles, table, *, tuned=None, identity=True, preset="magenta", step=10,
         **recipe):
    path.mkdir()
    (path / "run.json").write_text(json.dumps({
        "preset": preset, "styles": styles, "identity": identity, "step": step,
        "steps_before": 100, "tune_network": tuned is not None, "start_from": None,
        "style_size": 256, "losses": {"style_weight": 8.0, "style_layers": {}},
        "painting_sizes": {"a": 384}, "final_losses": {"loss": 1.0}, **recipe}))
    with h5py.File(path / "transformer.weights.h5", "w") as f:
        f[TABLE_KEY] = np.asarray(table, np.float32)
        if tuned is not None:
            f[f"{TRANSFORMER_KEY}/conv/kernel"] = np.full((3, 3), tuned, np.float32)
    return path


@pytest.fixture
def base(tmp_path):
    # Paintings a, b, c and the identity row: row i is full of i.
    return _run(tmp_path / "base", ["a.jpg", "b.jpg", "c.jpg"],
                [[i] * WIDTH for i in range(4)])


@pytest.fixture
def network(tmp_path):
    # Tuned on c and a (in that order) and the identity: rows 10, 11, 12, transformer 7.
    return _run(tmp_path / "net", ["c.jpg", "a.jpg"], [[10 + i] * WIDTH for i in range(3)],
                tuned=7.0, step=5)


def test_the_merge_has_the_tuned_network_and_its_rows_the_rest_from_base(
        tmp_path, base, network, capsys):
    out = tmp_path / "merged"
    assert merge_main([str(base), "--network", str(network), "--out", str(out)]) == 0
    assert "embeddings of a.jpg, c.jpg, identity" in capsys.readouterr().out
    with h5py.File(out / "transformer.weights.h5") as f:
        np.testing.assert_array_equal(f[TABLE_KEY][:, 0], [11, 1, 10, 12])
        np.testing.assert_array_equal(f[f"{TRANSFORMER_KEY}/conv/kernel"][()], 7.0)
    info = read_run_info(out)
    # BASE's paintings; the network's steps; a tuned network to go on from.
    assert info["styles"] == ["a.jpg", "b.jpg", "c.jpg"]
    assert (info["step"], info["steps_before"], info["final_losses"]) == (0, 105, None)
    assert info["merged"]["network_embeddings"] == ["a.jpg", "c.jpg", "identity"]
    assert tuned_network_of(out)[0] == out / "transformer.weights.h5"
    assert catalogue_entry("m", info, {}, {})["weights"] == TUNED


def test_the_network_s_paintings_keep_its_recipe_the_others_base_s(tmp_path):
    base = _run(tmp_path / "base", ["a.jpg", "b.jpg", "c.jpg"], [[0] * WIDTH] * 4,
                losses={"style_weight": 8.0, "style_layers": {"x": 0.5}},
                painting_style_layers={"c": {"x": 9.0}},
                painting_crops={"b": [0, 0, 5, 5], "c": [1, 1, 6, 6]})
    net = _run(tmp_path / "net", ["c.jpg", "a.jpg"], [[1] * WIDTH] * 3, tuned=1.0,
               style_size=128, losses={"style_weight": 2.0, "style_layers": {"x": 1.0, "y": 2.0}},
               painting_style_weights={"c": 3e7},
               painting_style_distances={"c": "sliced-wasserstein"},
               painting_crops={"a": [2, 2, 8, 8]})
    out = tmp_path / "merged"
    assert merge_main([str(base), "--network", str(net), "--out", str(out)]) == 0
    info = read_run_info(out)
    assert painting_sizes(info) == [384, 256, 128]
    # c trained whole in the network run: BASE's crop of it would score another painting.
    assert painting_crops(info) == [[2, 2, 8, 8], [0, 0, 5, 5], None]
    assert painting_style_weights(info) == [2.0, 8.0, 3e7]
    assert painting_style_distances(info) == ["gram", "gram", "sliced-wasserstein"]
    assert painting_layer_weights(info) == [{"x": 1.0, "y": 2.0}, {"x": 0.5, "y": 0.0},
                                            {"x": 1.0, "y": 2.0}]


def test_the_identity_row_stays_base_s_when_the_network_trained_none(tmp_path, base):
    net = _run(tmp_path / "net", ["b.jpg"], [[20] * WIDTH], tuned=1.0, identity=False)
    out = tmp_path / "merged"
    assert merge_main([str(base), "--network", str(net), "--out", str(out)]) == 0
    with h5py.File(out / "transformer.weights.h5") as f:
        np.testing.assert_array_equal(f[TABLE_KEY][:, 0], [0, 20, 2, 3])


@pytest.mark.parametrize("case, message", [
    ("untuned", "no tuned transformer to start from"),
    ("fast_base", "only runs of the magenta preset"),
    ("wider", "differ in size"),
    ("no_weights", "has no trained weights yet"),
])
def test_runs_that_cannot_merge_get_a_clear_error(tmp_path, base, network, case, message,
                                                  capsys):
    if case == "untuned":
        network = _run(tmp_path / "untuned", ["a.jpg"], [[1] * WIDTH] * 2)
    elif case == "fast_base":
        base = _run(tmp_path / "fast", ["a.jpg"], [[1] * WIDTH] * 2, preset="fast")
    elif case == "wider":
        network = _run(tmp_path / "wide", ["a.jpg"], [[1] * (WIDTH + 1)] * 2, tuned=1.0)
    else:
        (base / "transformer.weights.h5").unlink()
    out = tmp_path / "merged"
    assert merge_main([str(base), "--network", str(network), "--out", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_out_may_not_be_a_run_it_reads(base, network, capsys):
    with pytest.raises(SystemExit) as exit_:
        merge_main([str(base), "--network", str(network), "--out", str(base)])
    assert exit_.value.code == 2 and "must be a new directory" in capsys.readouterr().err
