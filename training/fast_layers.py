"""Faster forms of the transform network's layers on a CPU: the same functions with the
same weights (tests/test_training.py checks each against the plain layer it replaces,
and the whole network against the paper's form). Measured in docs/benchmarks.md.

- Instance norm of a single image on TensorFlow's fused batch-norm kernel (one op instead
  of five passes); per-channel moments for a batch.
- Upsample + pad + convolution as one convolution at the low resolution whose outputs are
  the four sub-pixels (Shi et al. 2016), so the upsampled image is never built.
- The full-resolution stages on the 2x2 space-to-depth view of the image: the 9x9
  convolutions, whose 3 input or output channels leave the CPU's vector units mostly idle,
  become 5x5 convolutions with 4x the channels, and the stages next to them (instance
  norm, reflection padding, the first stride-2 convolution) work on the same view, so the
  image is never rearranged at full resolution.

"Blocked" below means the 2x2 space-to-depth view of an image, channels ordered like
tf.nn.space_to_depth: pixel (2i + a, 2j + b) is position (i, j), channels of phase (a, b).
"""
from __future__ import annotations

import keras
from keras import layers, ops

from training.backend import on_tensorflow
from training.norms import InstanceNorm


def mirror_pad(x, before: int, after: int, symmetric: bool = False):
    """ops.pad of height and width, mode "reflect" (or "symmetric": the edge repeated), as
    mirrored edge slices concatenated: the same tensor in half the time of TensorFlow's
    MirrorPad kernel (0.4 against 0.8 ms for a residual block's 132x132x64 in bfloat16),
    6 % of the multi-style network at 512 px."""
    skip = 0 if symmetric else 1
    for axis in (1, 2):
        parts = [_flipped(x, axis, skip, skip + before)] if before else []
        parts += [x] + ([_flipped(x, axis, -after - skip, -skip or None)] if after else [])
        x = ops.concatenate(parts, axis)
    return x


def _flipped(x, axis: int, start: int, stop: int | None):
    return ops.flip(x[:, start:stop] if axis == 1 else x[:, :, start:stop], axis)


# tf.nn.space_to_depth and depth_to_space as a reshape, a transpose and a reshape: the same
# tensors, but TensorFlow's own kernels took 7 ms for a 1032x776 RGB image, these 1 ms
# (oneDNN's transpose).
def space_to_depth(x, block: int):
    shape, c = ops.shape(x), x.shape[-1]
    h, w = shape[1] // block, shape[2] // block
    cells = ops.reshape(x, [shape[0], h, block, w, block, c])
    return ops.reshape(ops.transpose(cells, [0, 1, 3, 2, 4, 5]),
                       [shape[0], h, w, block * block * c])


def depth_to_space(x, block: int):
    shape, c = ops.shape(x), x.shape[-1] // (block * block)
    cells = ops.reshape(x, [shape[0], shape[1], shape[2], block, block, c])
    return ops.reshape(ops.transpose(cells, [0, 1, 3, 2, 4, 5]),
                       [shape[0], shape[1] * block, shape[2] * block, c])


@keras.saving.register_keras_serializable(package="training")
class BlockReflectionPad(layers.Layer):
    """ReflectionPad(pad) of the image a blocked input shows, on the blocked view."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        if pad % 2:
            raise ValueError("BlockReflectionPad needs an even pad (whole blocks)")
        self.pad = pad

    def call(self, x):
        p = self.pad
        n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        c = x.shape[-1] // 4
        rows = _reflect_blocks(ops.reshape(x, [n, h, w, 2, 2 * c]), p // 2, axis=1)
        cols = ops.reshape(rows, [n, h + p, w, 2, 2, c])
        return ops.reshape(_reflect_blocks(cols, p // 2, axis=2), [n, h + p, w + p, 4 * c])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


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
class FastInstanceNorm(InstanceNorm):
    """InstanceNorm (plain or conditional); with block 2 on the blocked view (a channel's
    statistics then span its four phases)."""

    def __init__(self, epsilon: float = 1e-5, styles: int | None = None, block: int = 1, **kwargs):
        super().__init__(epsilon, styles, **kwargs)
        self.block = block

    def build(self, x_shape, style_weights_shape=None):
        super().build((*x_shape[:-1], x_shape[-1] // self.block**2))

    def call(self, x, style_weights=None):
        # For one image, instance norm is batch norm with the batch's own statistics, and
        # TensorFlow's fused batch-norm kernel computes it in one op: with oneDNN that
        # makes the whole network about 15 % faster. Only when the graph is built for
        # exactly one image (serving_default runs each request so): several would share
        # the kernel's statistics, and a runtime switch between the two costs half the gain.
        gamma, beta = self.scale_and_shift(style_weights)
        if x.shape[0] == 1 and on_tensorflow():
            return self._fused(x, gamma[0], beta[0])
        return self._moments(x, gamma, beta)

    def _fused(self, x, gamma, beta):
        import tensorflow as tf

        shape = tf.shape(x)
        # The phases of the block view lie next to each other along the width.
        image = tf.reshape(x, [1, shape[1], shape[2] * self.block**2, gamma.shape[-1]])
        normalized, _, _ = tf.compat.v1.nn.fused_batch_norm(
            image, gamma, beta, epsilon=self.epsilon, is_training=True)
        return tf.reshape(normalized, shape)

    def _moments(self, x, gamma, beta):
        # Moments in float32 even under mixed precision, as in InstanceNorm.
        shape = ops.shape(x)
        x32 = ops.reshape(ops.cast(x, "float32"),
                          [shape[0], shape[1], shape[2], self.block**2, gamma.shape[-1]])
        mean, variance = ops.moments(x32, axes=[1, 2, 3], keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * gamma[:, None, None, None, :]
        shift = beta[:, None, None, None, :] - mean * scale
        return ops.cast(ops.reshape(x32 * scale + shift, shape), x.dtype)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


class _BlockViewConv(layers.Conv2D):
    """A Conv2D that may read or write the blocked view of an image: its kernel is built
    for the image's channels, and its bias repeats over sub-pixels."""

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
    """Conv2D(filters, kernel_size) (stride 1, 'valid') computed on a space-to-depth view.

    Same kernel variable, same output. Each `block` x `block` tile of pixels becomes one
    position with block**2 times the channels, and the kernel is rearranged to match, so
    the convolution has block**2 times more output channels on block**2 times fewer
    positions: a 9x9 conv to 3 channels runs about twice as fast on this CPU at block 2
    (it multiplies some zeros: 5x5 taps on the block grid cover 10x10 > 9x9 pixels).
    Height and width of the input must be multiples of `block`. With `blocked_input` the
    input already is the space-to-depth view; with `blocked_output` the output stays one.
    """

    def __init__(self, filters: int, kernel_size: int, block: int = 2,
                 blocked_input: bool = False, blocked_output: bool = False, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if block < 2 or self.strides != (1, 1) or self.padding != "valid" \
                or (self.kernel_size[0] - 1) % block:
            raise ValueError("SpaceToDepthConv needs block >= 2, stride 1, 'valid' padding and "
                             "(kernel_size - 1) divisible by block")
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
        b = self.block
        blocked = inputs if self.blocked_input else space_to_depth(inputs, b)
        kernel = ops.concatenate([_kernel_on_blocks(kernel, b, p, q)
                                  for p in range(b) for q in range(b)], axis=-1)
        outputs = ops.conv(blocked, kernel, padding="valid")
        return outputs if self.blocked_output else depth_to_space(outputs, b)

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
    """Reflection padding by 1, then a 3x3 convolution with stride 2, on a blocked input.

    Output pixel i reads pixels 2i - 1 .. 2i + 1: phase 1 of block i - 1 and block i, so
    the conv is a stride-1 2x2 conv over blocks. Pixel -1 reflects pixel 1, phase 1 of
    block 0, which symmetric padding by one block at the top and left provides; nothing
    beyond the bottom and right edges is read, since a blocked image has an even size.
    """

    input_block = 2

    def __init__(self, filters: int, **kwargs):
        kwargs.pop("kernel_size", None)
        kwargs.pop("strides", None)
        super().__init__(filters, 3, strides=2, **kwargs)

    def call(self, inputs):
        padded = mirror_pad(inputs, 1, 0, symmetric=True)
        kernel = _kernel_on_blocks(ops.cast(self.kernel, self.compute_dtype), 2, 1, 1)
        return self.activation(self._add_bias(ops.conv(padded, kernel, padding="valid"), 1))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.filters)


@keras.saving.register_keras_serializable(package="training")
class UpsampleConv(_BlockViewConv):
    """Nearest-neighbour 2x upsampling, reflection padding by 1, then a 3x3 convolution,
    without ever building the upsampled image.

    Output pixel (2i + a, 2j + b), phase (a, b), sees only 2x2 distinct input pixels, from
    (i - 1 + a, j - 1 + b) on, so a 2x2 kernel (the 3x3 one with rows and columns summed
    per phase) computes it. One 2x2 convolution at the input resolution with the four
    phase kernels as output channels computes every phase at every position; each phase is
    then taken at its offset, and depth_to_space interleaves them. Symmetric padding of the
    small image equals reflection padding of the upsampled one, so the borders match too.
    It does 4/9 of the textbook multiplications (the rest multiply duplicated pixels).
    Without `interleave` it returns the blocked view of the output.
    """

    # _PHASE_ROWS[a][r, k] = 1 when kernel row k of phase a reads input row i - 1 + a + r.
    _PHASE_ROWS = (((1, 0, 0), (0, 1, 1)),
                   ((1, 1, 0), (0, 0, 1)))

    def __init__(self, filters: int, interleave: bool = True, **kwargs):
        kwargs.pop("kernel_size", None)
        super().__init__(filters, 3, **kwargs)
        self.interleave = interleave

    def call(self, inputs):
        padded = mirror_pad(inputs, 1, 1, symmetric=True)
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
            outputs = depth_to_space(outputs, 2)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        if not self.interleave:
            return (n, h, w, 4 * self.filters)
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        return {**super().get_config(), "interleave": self.interleave}
