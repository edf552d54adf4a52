"""The feed-forward image transformation network of Johnson et al. (2016).

Changes from the paper, each a well-known fix:
- instance normalization instead of batch normalization (Ulyanov et al. 2016), which
  removes the contrast dependence of batch norm and gives visibly cleaner results;
- nearest-neighbour upsampling followed by a convolution instead of transposed
  convolutions, which produce checkerboard artefacts (Odena et al., "Deconvolution and
  Checkerboard Artifacts", Distill 2016);
- reflection padding everywhere instead of zero padding, so borders are not darkened.

The layers compute the textbook network (`build_transformer(textbook=True)`, what FLOP
counts use; tests check both agree) in forms that run faster on a CPU (measured in bench/,
see the README's Benchmarks):
- instance normalization on TensorFlow's fused batch-norm kernel for a single image, as
  per-channel moments for a batch (GroupNormalization with one group per channel
  reshapes and runs 3-7 % slower);
- upsample + pad + convolution as one convolution at the low resolution whose outputs are
  the four sub-pixels (Shi et al. 2016), so the upsampled image is never built;
- the full-resolution stages on the 2x2 space-to-depth view of the image: the 9x9
  convolutions, whose 3 input or output channels leave the CPU's vector units mostly idle,
  become 5x5 convolutions with 4x the channels, and the stages next to them (instance
  norm, reflection padding, the first stride-2 convolution) work on the same view, so the
  image is never rearranged at full resolution.

The network takes float32 RGB in [0, 255] of any height and width and returns the same
shape, in [0, 255]. Sizes that are not a multiple of 4 are reflect-padded inside and
cropped back, so callers never have to care about the two stride-2 stages.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
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
    """Pads height and width by reflecting the border, like torch's ReflectionPad2d.

    With block 2 the input is the 2x2 space-to-depth view of the image (channels ordered
    like tf.nn.space_to_depth) and so is the output: the padding of the image it shows.
    """

    def __init__(self, pad: int, block: int = 1, **kwargs):
        super().__init__(**kwargs)
        if block not in (1, 2) or pad % block:
            raise ValueError("ReflectionPad needs block 1, or block 2 and an even pad")
        self.pad = pad
        self.block = block

    def call(self, x):
        p = self.pad
        if self.block == 1:
            return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
        n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        c = x.shape[-1] // 4
        rows = _reflect_blocks(ops.reshape(x, [n, h, w, 2, 2 * c]), p // 2, axis=1)
        cols = ops.reshape(rows, [n, h + p, w, 2, 2, c])
        return ops.reshape(_reflect_blocks(cols, p // 2, axis=2), [n, h + p, w + p, 4 * c])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "block": self.block}


def _reflect_blocks(x, blocks: int, axis: int):
    """Pads `axis` of a 2x2-blocked image by `blocks` blocks, reflecting pixels, not blocks.

    Pixel 2 * i + phase lives in block i; the phase of `axis` is the axis after the spatial
    ones. Mirrored at the border, phase 0 of block -j is phase 0 of block j, phase 1 of block
    -j is phase 1 of block j - 1, and the same from the other end the other way round.
    """
    size = ops.shape(x)[axis]
    phase_axis = 3 if axis == 1 else 4

    def take(phase, indices):
        picked = ops.take(x, indices, axis=axis)
        return ops.take(picked, [phase], axis=phase_axis)

    before = [take(0, ops.arange(blocks, 0, -1)), take(1, ops.arange(blocks - 1, -1, -1))]
    after = [take(0, size - 1 - ops.arange(blocks)), take(1, size - 2 - ops.arange(blocks))]
    return ops.concatenate([ops.concatenate(before, axis=phase_axis), x,
                            ops.concatenate(after, axis=phase_axis)], axis=axis)


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


@keras.saving.register_keras_serializable(package="training")
class InstanceNorm(layers.Layer):
    """Normalizes each channel of each image over height and width, then scales and shifts.

    With block 2 the input is the 2x2 space-to-depth view of the image: the statistics of a
    channel then span its four phases.
    """

    def __init__(self, epsilon: float = 1e-5, block: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.block = block

    def build(self, input_shape):
        channels = input_shape[-1] // self.block**2
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x):
        # For one image, instance norm is batch norm with the batch's own statistics, and
        # TensorFlow's fused batch-norm kernel computes it in one op: with oneDNN that
        # makes the whole network about 15 % faster. Only when the graph is built for
        # exactly one image (serving_default runs each request so): several would share
        # the kernel's statistics, and a runtime switch between the two costs half the gain.
        return self._fused(x) if x.shape[0] == 1 else self._moments(x)

    def _fused(self, x):
        shape = tf.shape(x)
        # The phases of the block view lie next to each other along the width.
        image = tf.reshape(x, [1, shape[1], shape[2] * self.block**2, self.gamma.shape[0]])
        normalized, _, _ = tf.compat.v1.nn.fused_batch_norm(
            image, ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32"),
            epsilon=self.epsilon, is_training=True)
        return tf.reshape(normalized, shape)

    def _moments(self, x):
        # Moments in float32 even under mixed precision: in float16 a variance of
        # activations in the hundreds loses precision or overflows.
        shape = ops.shape(x)
        x32 = ops.reshape(ops.cast(x, "float32"),
                          [shape[0], shape[1], shape[2], self.block**2, self.gamma.shape[0]])
        mean, variance = ops.moments(x32, axes=[1, 2, 3], keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, "float32")
        shift = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(ops.reshape(x32 * scale + shift, shape), x.dtype)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "block": self.block}


class _BlockViewConv(layers.Conv2D):
    """A Conv2D that may read or write the block x block space-to-depth view of an image:
    its kernel is built for the image's channels, and its bias repeats over sub-pixels."""

    input_block = 1

    def build(self, input_shape):
        channels = input_shape[-1]
        super().build((*input_shape[:-1], channels // self.input_block**2))
        if self.input_block > 1:
            self.input_spec = layers.InputSpec(ndim=4, axes={-1: channels})

    def _add_bias(self, outputs, phases: int):
        """Adds the bias to each of `phases` sub-pixels stacked on channels."""
        if not self.use_bias:
            return outputs
        return outputs + ops.tile(ops.cast(self.bias, self.compute_dtype), [phases])


@keras.saving.register_keras_serializable(package="training")
class SpaceToDepthConv(_BlockViewConv):
    """A stride-1 'valid' Conv2D computed on a space-to-depth view of its input.

    Same kernel variable, same output. Each `block` x `block` tile of pixels becomes one
    position with block**2 times the channels, and the kernel is rearranged to match, so
    the convolution has block**2 times more output channels on block**2 times fewer
    positions: a 9x9 conv to 3 channels runs about twice as fast on this CPU at block 2
    (it multiplies some zeros: 5x5 taps on the block grid cover 10x10 > 9x9 pixels).
    Height and width of the input must be multiples of `block`; block 1 is a plain conv.
    With `blocked_input` the input already is the space-to-depth view; with
    `blocked_output` the output stays one.
    """

    def __init__(self, filters: int, kernel_size: int, block: int = 2,
                 blocked_input: bool = False, blocked_output: bool = False, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if self.strides != (1, 1) or self.padding != "valid" or (self.kernel_size[0] - 1) % block:
            raise ValueError("SpaceToDepthConv needs stride 1, 'valid' padding and "
                             "(kernel_size - 1) divisible by block")
        if block == 1 and (blocked_input or blocked_output):
            raise ValueError("SpaceToDepthConv needs block 2 or more for blocked views")
        self.block = block
        self.blocked_input = blocked_input
        self.blocked_output = blocked_output
        self.input_block = block if blocked_input else 1

    def call(self, inputs):
        if not self.blocked_output:
            return super().call(inputs)
        outputs = self.convolution_op(inputs, ops.cast(self.kernel, self.compute_dtype))
        return self.activation(self._add_bias(outputs, self.block**2))

    def convolution_op(self, inputs, kernel):
        if self.block == 1:
            return super().convolution_op(inputs, kernel)
        b = self.block
        blocked = inputs if self.blocked_input else tf.nn.space_to_depth(inputs, b)
        kernel = ops.concatenate([_kernel_on_blocks(kernel, b, p, q)
                                  for p in range(b) for q in range(b)], axis=-1)
        outputs = ops.conv(blocked, kernel, padding="valid")
        return outputs if self.blocked_output else tf.nn.depth_to_space(outputs, b)

    def compute_output_shape(self, input_shape):
        b, k = self.block, self.kernel_size[0]

        def size(d):
            if d is None:
                return None
            pixels = (d * b if self.blocked_input else d) - (k - 1)
            return pixels // b if self.blocked_output else pixels

        channels = self.filters * b**2 if self.blocked_output else self.filters
        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), channels)

    def get_config(self):
        return {**super().get_config(), "block": self.block, "blocked_input": self.blocked_input,
                "blocked_output": self.blocked_output}


def _kernel_on_blocks(kernel, block: int, p: int, q: int):
    """[k, k, cin, cout] -> [s, s, b*b*cin, cout], s = ceil((k + max(p, q)) / b): the
    kernel shifted down by p and right by q pixels, on the space-to-depth view (its channel
    order). One such kernel per (p, q) computes output pixel (p, q) of each block."""
    k, cin, cout = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    span = -(-(k + max(p, q)) // block)
    shifted = ops.pad(kernel, [[p, span * block - k - p], [q, span * block - k - q], [0, 0], [0, 0]])
    shifted = ops.reshape(shifted, [span, block, span, block, cin, cout])
    shifted = ops.transpose(shifted, [0, 2, 1, 3, 4, 5])
    return ops.reshape(shifted, [span, span, block * block * cin, cout])


@keras.saving.register_keras_serializable(package="training")
class DownsampleConv(_BlockViewConv):
    """Reflection padding by 1, then a 3x3 convolution with stride 2.

    With `blocked_input` the input is the 2x2 space-to-depth view of the image. Output
    pixel i reads pixels 2i - 1 .. 2i + 1: phase 1 of block i - 1 and block i, so the conv
    is a stride-1 2x2 conv over blocks. Pixel -1 reflects pixel 1, phase 1 of block 0,
    which symmetric padding by one block at the top and left provides; nothing beyond the
    bottom and right edges is read, since a blocked image has an even size.
    """

    def __init__(self, filters: int, blocked_input: bool = False, **kwargs):
        kwargs.pop("kernel_size", None)
        kwargs.pop("strides", None)
        super().__init__(filters, 3, strides=2, **kwargs)
        self.blocked_input = blocked_input
        self.input_block = 2 if blocked_input else 1

    def call(self, inputs):
        if not self.blocked_input:
            return super().call(ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], "reflect"))
        padded = ops.pad(inputs, [[0, 0], [1, 0], [1, 0], [0, 0]], mode="symmetric")
        kernel = _kernel_on_blocks(ops.cast(self.kernel, self.compute_dtype), 2, 1, 1)
        return self.activation(self._add_bias(ops.conv(padded, kernel, padding="valid"), 1))

    def compute_output_shape(self, input_shape):
        def size(d):
            return d if d is None or self.blocked_input else (d - 1) // 2 + 1

        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

    def get_config(self):
        return {**super().get_config(), "blocked_input": self.blocked_input}


@keras.saving.register_keras_serializable(package="training")
class UpsampleConv(_BlockViewConv):
    """Nearest-neighbour 2x upsampling, reflection padding by 1, then a 3x3 convolution.

    With `subpixel` (the default) it never builds the upsampled image. Output pixel
    (2i + a, 2j + b), phase (a, b), sees only 2x2 distinct input pixels, from (i - 1 + a,
    j - 1 + b) on, so a 2x2 kernel (the 3x3 one with rows and columns summed per phase)
    computes it. One 2x2 convolution at the input resolution with the four phase kernels
    as output channels computes every phase at every position; each phase is then taken
    at its offset, and depth_to_space interleaves them. Symmetric padding of the small
    image equals reflection padding of the upsampled one, so the borders match too. It
    does 4/9 of the textbook multiplications (the rest multiply duplicated pixels) and
    never writes the upsampled image. Without `interleave` it returns the sub-pixels as
    channels: the 2x2 space-to-depth view of the output.
    """

    # _PHASE_ROWS[a][r, k] = 1 when kernel row k of phase a reads input row i - 1 + a + r.
    _PHASE_ROWS = (((1, 0, 0), (0, 1, 1)),
                   ((1, 1, 0), (0, 0, 1)))

    def __init__(self, filters: int, subpixel: bool = True, interleave: bool = True, **kwargs):
        kwargs.pop("kernel_size", None)
        super().__init__(filters, 3, **kwargs)
        if not (subpixel or interleave):
            raise ValueError("UpsampleConv computes sub-pixels as channels only with subpixel")
        self.subpixel = subpixel
        self.interleave = interleave

    def call(self, inputs):
        if not self.subpixel:
            upsampled = ops.repeat(ops.repeat(inputs, 2, axis=1), 2, axis=2)
            return super().call(ops.pad(upsampled, [[0, 0], [1, 1], [1, 1], [0, 0]], "reflect"))
        padded = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="symmetric")
        rows = ops.convert_to_tensor(self._PHASE_ROWS, dtype=self.compute_dtype)
        kernel = ops.cast(self.kernel, self.compute_dtype)
        kernels = [ops.einsum("rk,sl,klio->rsio", rows[a], rows[b], kernel)
                   for a in (0, 1) for b in (0, 1)]
        every_phase = ops.conv(padded, ops.concatenate(kernels, axis=-1), padding="valid")
        h, w, c = ops.shape(inputs)[1], ops.shape(inputs)[2], self.filters
        phases = [every_phase[:, a:a + h, b:b + w, (2 * a + b) * c:(2 * a + b + 1) * c]
                  for a in (0, 1) for b in (0, 1)]
        outputs = self._add_bias(ops.concatenate(phases, axis=-1), 4)
        if self.interleave:
            outputs = tf.nn.depth_to_space(outputs, 2)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        if not self.interleave:
            return (n, h, w, 4 * self.filters)
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        return {**super().get_config(), "subpixel": self.subpixel, "interleave": self.interleave}


def _norm(x, name: str, block: int = 1, relu: bool = True):
    x = InstanceNorm(block=block, name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _conv(x, filters: int, relu: bool = True, name: str = ""):
    x = ReflectionPad(1, name=f"{name}_pad")(x)
    return _norm(layers.Conv2D(filters, 3, name=f"{name}_conv")(x), name, relu=relu)


def _residual(x, filters: int, name: str):
    y = _conv(x, filters, name=f"{name}_a")
    y = _conv(y, filters, relu=False, name=f"{name}_b")
    return layers.Add(name=f"{name}_add")([x, y])


def _upsample(x, filters: int, textbook: bool, name: str, interleave: bool = True):
    """Unless textbook or interleave, the result is the 2x2 space-to-depth view."""
    block = 1 if textbook or interleave else 2
    x = UpsampleConv(filters, subpixel=not textbook, interleave=block == 1, name=f"{name}_conv")(x)
    return _norm(x, name, block)


def build_transformer(preset: str = "fast", textbook: bool = False,
                      dtype_policy: str | None = None) -> keras.Model:
    """Returns the transform net for a named preset: [N,H,W,3] float 0..255 -> same.

    `textbook` computes every layer in its plain form, on pixels: the same network with
    the same weights, slower; what FLOP counts and equivalence tests use.
    `dtype_policy` ("mixed_float16", "mixed_bfloat16", ...) overrides Keras' global
    policy for this model only; the output stays float32 either way."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(dtype_policy or previous)
    try:
        return _build(PRESETS[preset], preset, textbook)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build(shape: Preset, preset: str, textbook: bool) -> keras.Model:
    c1, c2, c3 = shape.channels
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = PadToMultiple(4, name="pad_to_4")(inputs)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    # The full-resolution stages work on the 2x2 space-to-depth view of the image, which
    # the 9x9 convolutions want (their few channels leave the vector units idle): going
    # between views costs a full pass each time, so the first stage ends in one and the
    # last starts in one. The padded size is a multiple of 4 + 8, so of the block, 2.
    block = 1 if textbook else 2
    x = ReflectionPad(4, name="down1_pad")(x)
    x = SpaceToDepthConv(c1, 9, block=block, blocked_output=not textbook, name="down1_conv")(x)
    x = _norm(x, "down1", block)
    x = _norm(DownsampleConv(c2, blocked_input=not textbook, name="down2_conv")(x), "down2")
    x = _norm(DownsampleConv(c3, name="down3_conv")(x), "down3")
    for i in range(shape.residual_blocks):
        x = _residual(x, c3, name=f"res{i + 1}")
    x = _upsample(x, c2, textbook, name="up1")
    x = _upsample(x, c1, textbook, name="up2", interleave=False)
    x = ReflectionPad(4, block=block, name="out_pad")(x)
    x = SpaceToDepthConv(3, 9, block=block, blocked_input=not textbook, name="out_conv")(x)
    # A sigmoid keeps the output in range without the flat gradients of clipping.
    x = layers.Activation("sigmoid", dtype="float32", name="out_sigmoid")(x)
    x = layers.Rescaling(255.0, dtype="float32", name="to_pixels")(x)
    outputs = CropLike(name="crop", dtype="float32")(x, inputs)
    return keras.Model(inputs, outputs, name=f"transformer_{preset}")
