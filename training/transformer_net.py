"""The feed-forward image transformation network of Johnson et al. (2016), as the paper
draws it (supplementary table 1).

Changes from the paper, each a well-known fix:
- instance normalization instead of batch normalization (Ulyanov et al. 2016), which
  removes the contrast dependence of batch norm and gives visibly cleaner results;
- nearest-neighbour upsampling followed by a convolution instead of transposed
  convolutions, which produce checkerboard artefacts (Odena et al., "Deconvolution and
  Checkerboard Artifacts", Distill 2016);
- reflection padding everywhere instead of zero padding, so borders are not darkened.

`build_paper_network` is the network, layer by layer as the paper has it: what
`build_transformer(textbook=True)` returns, FLOP counts and the equivalence tests use.
`build_transformer` builds what training and serving run, `build_fast_network`: the same
network with the same weights, computed in the forms of training/fast_layers.py, which are
faster on a CPU (each tested equal to the plain layer it replaces).

The network takes float32 RGB in [0, 255] of any height and width and returns the same
shape, in [0, 255]. Sizes that are not a multiple of 4 are reflect-padded inside and
cropped back, so callers never have to care about the two stride-2 stages.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from training import fast_layers as fast


@dataclass(frozen=True)
class Preset:
    """Channel widths of the three resolution stages and the number of residual blocks."""

    channels: tuple[int, int, int]
    residual_blocks: int


PRESETS: dict[str, Preset] = {
    # The paper's network (Johnson et al. 2016, supplementary table 1).
    "johnson": Preset(channels=(32, 64, 128), residual_blocks=5),
    # Half the width: about a quarter of the FLOPs of the residual trunk, chosen for CPU
    # serving (docs/benchmarks.md says what it costs in quality).
    "fast": Preset(channels=(16, 32, 64), residual_blocks=5),
    # For tests only: trains in seconds, looks like nothing.
    "tiny": Preset(channels=(4, 8, 8), residual_blocks=1),
}


@keras.saving.register_keras_serializable(package="training")
class ReflectionPad(layers.Layer):
    """Pads height and width by reflecting the border, like torch's ReflectionPad2d."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


@keras.saving.register_keras_serializable(package="training")
class InstanceNorm(layers.Layer):
    """Normalizes each channel of each image over height and width, then scales and shifts."""

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="beta")

    def call(self, x):
        # Moments in float32 even under mixed precision: in float16 a variance of
        # activations in the hundreds loses precision or overflows.
        x32 = ops.cast(x, "float32")
        mean, variance = ops.moments(x32, axes=[1, 2], keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, "float32")
        shift = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(x32 * scale + shift, x.dtype)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="training")
class PadToMultiple(layers.Layer):
    """Reflect-pads bottom/right so height and width become multiples of `multiple`."""

    def __init__(self, multiple: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.multiple = multiple

    def call(self, x):
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        pad_h = (-h) % self.multiple
        pad_w = (-w) % self.multiple
        return ops.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="reflect")

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="training")
class CropLike(layers.Layer):
    """Crops the first input to the height and width of the second."""

    def call(self, x, reference):
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]


def conv_layer(x, filters: int, kernel: int, name: str, stride: int = 1, relu: bool = True,
               norm=InstanceNorm):
    """Reflection padding, convolution, instance norm, ReLU: the paper's building block."""
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, name=f"{name}_conv")(x)
    x = norm(name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def residual_block(x, filters: int, name: str, norm=InstanceNorm):
    """Two 3x3 conv layers, the second without ReLU, added to the input."""
    y = conv_layer(x, filters, 3, f"{name}_a", norm=norm)
    y = conv_layer(y, filters, 3, f"{name}_b", relu=False, norm=norm)
    return layers.Add(name=f"{name}_add")([x, y])


def upsample_layer(x, filters: int, name: str):
    """Nearest-neighbour 2x upsampling, then a conv layer (no checkerboards)."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
    return conv_layer(x, filters, 3, name)


def to_pixels(x, inputs, preset: str) -> keras.Model:
    """The output head: a sigmoid keeps the output in range without the flat gradients of
    clipping; scaled to 0..255 and cropped back to the input's size."""
    x = layers.Activation("sigmoid", dtype="float32", name="out_sigmoid")(x)
    x = layers.Rescaling(255.0, dtype="float32", name="to_pixels")(x)
    outputs = CropLike(name="crop", dtype="float32")(x, inputs)
    return keras.Model(inputs, outputs, name=f"transformer_{preset}")


def build_paper_network(shape: Preset, preset: str) -> keras.Model:
    c1, c2, c3 = shape.channels
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = PadToMultiple(4, name="pad_to_4")(inputs)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    x = conv_layer(x, c1, 9, "down1")
    x = conv_layer(x, c2, 3, "down2", stride=2)
    x = conv_layer(x, c3, 3, "down3", stride=2)
    for i in range(shape.residual_blocks):
        x = residual_block(x, c3, f"res{i + 1}")
    x = upsample_layer(x, c2, "up1")
    x = upsample_layer(x, c1, "up2")
    x = ReflectionPad(4, name="out_pad")(x)
    x = layers.Conv2D(3, 9, name="out_conv")(x)
    return to_pixels(x, inputs, preset)


def build_fast_network(shape: Preset, preset: str) -> keras.Model:
    """build_paper_network in the forms of training/fast_layers.py. The full-resolution
    stages stay on the 2x2 blocked view, which the 9x9 convolutions want (their few
    channels leave the vector units idle): going between views costs a full pass each time,
    so the first stage ends in one and the last starts in one. The padded size is a
    multiple of 4 + 8, so of the block, 2. Same layer names and weights, in the same order."""
    c1, c2, c3 = shape.channels
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = PadToMultiple(4, name="pad_to_4")(inputs)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    x = ReflectionPad(4, name="down1_pad")(x)
    x = fast.SpaceToDepthConv(c1, 9, blocked_output=True, name="down1_conv")(x)
    x = _fast_norm(x, "down1", block=2)
    x = _fast_norm(fast.DownsampleConv(c2, name="down2_conv")(x), "down2")
    x = conv_layer(x, c3, 3, "down3", stride=2, norm=fast.FastInstanceNorm)
    for i in range(shape.residual_blocks):
        x = residual_block(x, c3, f"res{i + 1}", norm=fast.FastInstanceNorm)
    x = _fast_norm(fast.UpsampleConv(c2, name="up1_conv")(x), "up1")
    x = _fast_norm(fast.UpsampleConv(c1, interleave=False, name="up2_conv")(x), "up2", block=2)
    x = fast.BlockReflectionPad(4, name="out_pad")(x)
    x = fast.SpaceToDepthConv(3, 9, blocked_input=True, name="out_conv")(x)
    return to_pixels(x, inputs, preset)


def _fast_norm(x, name: str, block: int = 1):
    x = fast.FastInstanceNorm(block=block, name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_transformer(preset: str = "fast", textbook: bool = False,
                      dtype_policy: str | None = None) -> keras.Model:
    """Returns the transform net for a named preset: [N,H,W,3] float 0..255 -> same.

    `textbook` builds the paper's layers (build_paper_network); otherwise the CPU-fast
    forms of training/fast_layers.py (build_fast_network): the same network, the same
    weights in the same order. `dtype_policy` ("mixed_float16", "mixed_bfloat16", ...)
    overrides Keras' global policy for this model only; the output stays float32 either
    way."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    build = build_paper_network if textbook else build_fast_network
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(dtype_policy or previous)
    try:
        return build(PRESETS[preset], preset)
    finally:
        keras.mixed_precision.set_global_policy(previous)
