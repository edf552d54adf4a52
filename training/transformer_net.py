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

import keras
from keras import layers, ops

from training import fast_layers as fast
from training.arbitrary_net import build_painting_network
from training.dtype_policy import building_in
from training.norms import InstanceNorm
from training.presets import PAINTING_PRESET, PRESETS, Preset, preset_names


@keras.saving.register_keras_serializable(package="training")
class ReflectionPad(layers.Layer):
    """Pads height and width by reflecting the border, like torch's ReflectionPad2d."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        return fast.mirror_pad(x, self.pad, self.pad)

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

    def compute_output_shape(self, input_shape):
        # Given, not traced: JAX cannot reflect-pad a symbolic size (training/backend.py).
        n, h, w, c = input_shape
        return (n, *(None if side is None else -(-side // self.multiple) * self.multiple
                     for side in (h, w)), c)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="training")
class CropLike(layers.Layer):
    """Crops the first input to the height and width of the second."""

    def call(self, x, reference):
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, x_shape, reference_shape):
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])


def normalize(x, name: str, style=None, norm=InstanceNorm, **kwargs):
    """norm(x); with `style` = (number of styles, style_weights tensor [N, styles]) the
    conditional form, mixing the styles' scales and shifts by the weights."""
    if style is None:
        return norm(name=name, **kwargs)(x)
    styles, weights = style
    return norm(styles=styles, name=name, **kwargs)(x, style_weights=weights)


def conv_layer(x, filters: int, kernel: int, name: str, stride: int = 1, relu: bool = True,
               norm=InstanceNorm, style=None):
    """Reflection padding, convolution, instance norm, ReLU: the paper's building block."""
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, name=f"{name}_conv")(x)
    x = normalize(x, f"{name}_in", style, norm)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def residual_block(x, filters: int, name: str, norm=InstanceNorm, style=None):
    """Two 3x3 conv layers, the second without ReLU, added to the input."""
    y = conv_layer(x, filters, 3, f"{name}_a", norm=norm, style=style)
    y = conv_layer(y, filters, 3, f"{name}_b", relu=False, norm=norm, style=style)
    return layers.Add(name=f"{name}_add")([x, y])


def upsample_layer(x, filters: int, name: str, style=None):
    """Nearest-neighbour 2x upsampling, then a conv layer (no checkerboards)."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
    return conv_layer(x, filters, 3, name, style=style)


def network_inputs(styles: int | None):
    """(model inputs, image input, style): the image alone, or with `styles` also the
    style weights [N, styles] that every norm layer is conditioned on."""
    image = keras.Input(shape=(None, None, 3), name="image")
    if not styles:
        return image, image, None
    weights = keras.Input(shape=(styles,), name="style_weights")
    return {"image": image, "style_weights": weights}, image, (styles, weights)


def to_pixels(x, inputs, image, preset: str) -> keras.Model:
    """The output head: a sigmoid keeps the output in range without the flat gradients of
    clipping; scaled to 0..255 and cropped back to the input's size."""
    x = layers.Activation("sigmoid", dtype="float32", name="out_sigmoid")(x)
    x = layers.Rescaling(255.0, dtype="float32", name="to_pixels")(x)
    outputs = CropLike(name="crop", dtype="float32")(x, image)
    return keras.Model(inputs, outputs, name=f"transformer_{preset}")


def build_paper_network(shape: Preset, preset: str, styles: int | None = None) -> keras.Model:
    c1, c2, c3 = shape.channels
    inputs, image, style = network_inputs(styles)
    x = PadToMultiple(4, name="pad_to_4")(image)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    x = conv_layer(x, c1, 9, "down1", style=style)
    x = conv_layer(x, c2, 3, "down2", stride=2, style=style)
    x = conv_layer(x, c3, 3, "down3", stride=2, style=style)
    for i in range(shape.residual_blocks):
        x = residual_block(x, c3, f"res{i + 1}", style=style)
    x = upsample_layer(x, c2, "up1", style=style)
    x = upsample_layer(x, c1, "up2", style=style)
    x = ReflectionPad(4, name="out_pad")(x)
    x = layers.Conv2D(3, 9, name="out_conv")(x)
    return to_pixels(x, inputs, image, preset)


def build_fast_network(shape: Preset, preset: str, styles: int | None = None) -> keras.Model:
    """build_paper_network in the forms of training/fast_layers.py. The full-resolution
    stages stay on the 2x2 blocked view, which the 9x9 convolutions want (their few
    channels leave the vector units idle): going between views costs a full pass each time,
    so the first stage ends in one and the last starts in one. The padded size is a
    multiple of 4 + 8, so of the block, 2. Same layer names and weights, in the same order."""
    c1, c2, c3 = shape.channels
    inputs, image, style = network_inputs(styles)
    norm = fast.FastInstanceNorm
    x = PadToMultiple(4, name="pad_to_4")(image)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    x = ReflectionPad(4, name="down1_pad")(x)
    x = fast.SpaceToDepthConv(c1, 9, blocked_output=True, name="down1_conv")(x)
    x = _relu(normalize(x, "down1_in", style, norm, block=2), "down1")
    x = fast.DownsampleConv(c2, name="down2_conv")(x)
    x = _relu(normalize(x, "down2_in", style, norm), "down2")
    x = conv_layer(x, c3, 3, "down3", stride=2, norm=norm, style=style)
    for i in range(shape.residual_blocks):
        x = residual_block(x, c3, f"res{i + 1}", norm=norm, style=style)
    x = _relu(normalize(fast.UpsampleConv(c2, name="up1_conv")(x), "up1_in", style, norm), "up1")
    x = fast.UpsampleConv(c1, interleave=False, name="up2_conv")(x)
    x = _relu(normalize(x, "up2_in", style, norm, block=2), "up2")
    x = fast.BlockReflectionPad(4, name="out_pad")(x)
    x = fast.SpaceToDepthConv(3, 9, blocked_input=True, name="out_conv")(x)
    return to_pixels(x, inputs, image, preset)


def _relu(x, name: str):
    return layers.ReLU(name=f"{name}_relu")(x)


def build_transformer(preset: str = "fast", textbook: bool = False,
                      dtype_policy: str | None = None, styles: int | None = None,
                      identity: bool = False) -> keras.Model:
    """Returns the transform net for a named preset: [N,H,W,3] float 0..255 -> same.

    With `styles` (the multi-style network of Dumoulin et al. 2017) it takes
    {"image": [N,H,W,3], "style_weights": [N, styles]} and paints each image in the mix of
    styles its weights give. `textbook` builds the paper's layers (build_paper_network);
    otherwise the CPU-fast forms of training/fast_layers.py (build_fast_network): the same
    network, the same weights in the same order. `dtype_policy` ("mixed_float16",
    "mixed_bfloat16", ...) overrides Keras' global policy for this model only; the output
    stays float32 either way. `identity`: the last of the styles gives back the photo
    (the preset "magenta" builds that condition on the photo's own embedding)."""
    if preset == PAINTING_PRESET:
        if not styles:
            raise ValueError(f"preset {preset!r} is a multi-style network: name two or more "
                             "paintings, or one with --identity")
        return build_painting_network(styles, identity, dtype_policy or "float32")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {preset_names()}")
    build = build_paper_network if textbook else build_fast_network
    with building_in(dtype_policy or keras.config.dtype_policy()):
        return build(PRESETS[preset], preset, styles)
