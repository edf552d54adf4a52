"""The feed-forward image transformation network of Johnson et al. (2016).

Changes from the paper, each a well-known fix:
- instance normalization instead of batch normalization (Ulyanov et al. 2016), which
  removes the contrast dependence of batch norm and gives visibly cleaner results;
- nearest-neighbour upsampling followed by a convolution instead of transposed
  convolutions, which produce checkerboard artefacts (Odena et al., "Deconvolution and
  Checkerboard Artifacts", Distill 2016);
- reflection padding everywhere instead of zero padding, so borders are not darkened.

The network takes float32 RGB in [0, 255] of any height and width and returns the same
shape, in [0, 255]. Sizes that are not a multiple of 4 are reflect-padded inside and
cropped back, so callers never have to care about the two stride-2 stages.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops


@dataclass(frozen=True)
class Preset:
    """Channel widths of the three resolution stages and the number of residual blocks."""

    channels: tuple[int, int, int]
    residual_blocks: int


PRESETS: dict[str, Preset] = {
    # The paper's network (Johnson et al. 2016, supplementary table 1).
    "johnson": Preset(channels=(32, 64, 128), residual_blocks=5),
    # Half the width: about a quarter of the FLOPs of the residual trunk, chosen for CPU
    # serving (see the README's benchmark table for what it costs in quality).
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


def _conv(x, filters: int, kernel: int, stride: int = 1, relu: bool = True, name: str = ""):
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, name=f"{name}_conv")(x)
    # Instance norm == group norm with one group per channel.
    x = layers.GroupNormalization(groups=filters, epsilon=1e-5, name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _residual(x, filters: int, name: str):
    y = _conv(x, filters, 3, name=f"{name}_a")
    y = _conv(y, filters, 3, relu=False, name=f"{name}_b")
    return layers.Add(name=f"{name}_add")([x, y])


def _upsample(x, filters: int, name: str):
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)
    return _conv(x, filters, 3, name=name)


def build_transformer(preset: str = "fast") -> keras.Model:
    """Returns the transform net for a named preset: [N,H,W,3] float 0..255 -> same."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    c1, c2, c3 = PRESETS[preset].channels
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = PadToMultiple(4, name="pad_to_4")(inputs)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    x = _conv(x, c1, 9, name="down1")
    x = _conv(x, c2, 3, stride=2, name="down2")
    x = _conv(x, c3, 3, stride=2, name="down3")
    for i in range(PRESETS[preset].residual_blocks):
        x = _residual(x, c3, name=f"res{i + 1}")
    x = _upsample(x, c2, name="up1")
    x = _upsample(x, c1, name="up2")
    x = ReflectionPad(4, name="out_pad")(x)
    x = layers.Conv2D(3, 9, name="out_conv")(x)
    # A sigmoid keeps the output in range without the flat gradients of clipping.
    x = layers.Activation("sigmoid", dtype="float32", name="out_sigmoid")(x)
    x = layers.Rescaling(255.0, dtype="float32", name="to_pixels")(x)
    outputs = CropLike(name="crop", dtype="float32")(x, inputs)
    return keras.Model(inputs, outputs, name=f"transformer_{preset}")
