"""The two networks of arbitrary style transfer (Ghiasi et al. 2017, "Exploring the
structure of a real-time, arbitrary neural artistic stylization network"), in the small
form of Magenta's TF Hub release: a style predictor that turns any painting into a
100-number embedding, and a transformer that paints a photo with an embedding.

We do not train them (that takes ~80k paintings and GPU-days): export/magenta_weights.py
loads the published weights into them. Both take and give pixels in 0..1.

- `build_style_predictor()`: Keras' MobileNetV2 body (the published predictor is
  MobileNetV2, its batch norms folded into biases) on a 256 x 256 painting, global average
  pooling, and a linear bottleneck to the embedding.
- `build_arbitrary_transformer()`: three convolutions down (9x9, 3x3/2, 3x3/2, no
  normalization), five residual blocks and three convolutions up (nearest upsampling),
  every one of those normalized by `StyleNorm`: instance norm whose scale and shift come
  from the embedding. Fully convolutional: any photo whose sides are multiples of 4.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from training.fast_layers import (
    BlockReflectionPad,
    DownsampleConv,
    SpaceToDepthConv,
    UpsampleConv,
    mirror_pad,
)

EMBEDDING = 100
TRANSFORMER_CHANNELS = (8, 16, 32)
RESIDUAL_BLOCKS = 5
PREDICTOR_SIZE = 256


class StyleNorm(layers.Layer):
    """Instance norm with the scale and shift predicted from the style embedding (two
    dense maps, the 1x1 convolutions of the published graph)."""

    def __init__(self, channels: int, epsilon: float = 1e-5, block: int = 1, **kwargs):
        super().__init__(**kwargs)  # epsilon: the graph's; block 2: on the blocked view
        self.channels, self.epsilon, self.block = channels, epsilon, block
        self.scale = layers.Dense(channels, name="scale", dtype=self.dtype_policy)
        self.shift = layers.Dense(channels, name="shift", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.scale.build((None, EMBEDDING))
        self.shift.build((None, EMBEDDING))

    def call(self, inputs):
        x, embedding = inputs
        if x.shape[0] == 1:  # a graph built for one image, as FastInstanceNorm
            return self._one_image(x, ops.cast(self.scale(embedding)[0], "float32"),
                                   ops.cast(self.shift(embedding)[0], "float32"))
        # The statistics in float32 whatever the layer computes in: a bfloat16 variance over
        # a million pixels is off by percents. A channel's phases of the blocked view
        # share its statistics.
        shape = ops.shape(x)
        x32 = ops.reshape(ops.cast(x, "float32"),
                          [shape[0], shape[1], shape[2], self.block**2, self.channels])
        mean, variance = ops.moments(x32, axes=[1, 2, 3], keepdims=True)
        scale = self.scale(embedding)[:, None, None, None, :]
        shift = self.shift(embedding)[:, None, None, None, :]
        normalized = ops.cast((x32 - mean) * ops.rsqrt(variance + self.epsilon), x.dtype)
        return ops.reshape(normalized * scale + shift, shape)

    def _one_image(self, x, scale, shift):
        """Instance norm of one image on TensorFlow's fused batch-norm kernel (batch norm of
        one image is its instance norm; statistics in float32), not the general form's
        five element-wise passes, half the network's time at 1024 px. oneDNN's kernel
        vectorises over channels 16 at a time: 1.4 ms for 16 channels at 512x384, 65 ms
        for 8 at 1024x768. So a tensor with other channel counts is viewed with k pixels
        per row, 16 values or a multiple: one pass of the kernel gives each of the k
        copies' statistics, combined per channel, and a second applies them (1.3 ms for 3
        channels at 1024x768, 3.8 for 8 on the blocked view). k divides the pixel count of
        every such layer here: full and half resolution of a photo padded to multiples
        of 4."""
        lanes = x.shape[-1]
        if lanes == self.channels and lanes % 16 == 0:
            return tf.compat.v1.nn.fused_batch_norm(x, scale, shift, epsilon=self.epsilon,
                                                    is_training=True)[0]
        width = 16 // math.gcd(lanes, 16) * lanes
        copies = width // self.channels
        rows = tf.reshape(x, [1, -1, 1, width])
        _, means, variances = tf.compat.v1.nn.fused_batch_norm(
            rows, tf.ones([width]), tf.zeros([width]), epsilon=self.epsilon, is_training=True)
        count = tf.cast(tf.shape(rows)[1], tf.float32)
        means = tf.reshape(means, [copies, self.channels])
        # The kernel hands back the variance with Bessel's correction: undone.
        squares = tf.reshape(variances * (count - 1) / count, [copies, self.channels]) + means**2
        mean = tf.reduce_mean(means, axis=0)
        variance = tf.reduce_mean(squares, axis=0) - mean**2
        normalized, _, _ = tf.compat.v1.nn.fused_batch_norm(
            rows, tf.tile(scale, [copies]), tf.tile(shift, [copies]), tf.tile(mean, [copies]),
            tf.tile(variance, [copies]), epsilon=self.epsilon, is_training=False)
        return tf.reshape(normalized, tf.shape(x))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "epsilon": self.epsilon,
                "block": self.block}


def _conv(x, channels: int, kernel: int, stride: int, name: str, dtype: str):
    """Reflect padding, then a valid convolution: as the published graph pads."""
    padded = mirror_pad(x, kernel // 2, kernel // 2)
    return layers.Conv2D(channels, kernel, stride, name=name, dtype=dtype)(padded)


def build_arbitrary_transformer(dtype_policy: str = "float32") -> keras.Model:
    """`dtype_policy` "mixed_bfloat16" computes in bfloat16 (1.7x faster at 1024 px on a CPU
    with native bfloat16), the output in float32 either way."""
    photo = keras.Input((None, None, 3), name="image")
    embedding = keras.Input((EMBEDDING,), name="embedding")
    c1, c2, c3 = TRANSFORMER_CHANNELS
    d = dtype_policy
    # The full-resolution stages stay on the 2x2 blocked view, as in build_fast_network.
    x = SpaceToDepthConv(c1, 9, blocked_output=True, name="contract_conv1", dtype=d)(
        mirror_pad(photo, 4, 4))
    x = ops.relu(x)
    x = ops.relu(DownsampleConv(c2, name="contract_conv2", dtype=d)(x))
    x = ops.relu(_conv(x, c3, 3, 2, "contract_conv3", d))
    for i in range(1, RESIDUAL_BLOCKS + 1):
        h = _conv(x, c3, 3, 1, f"residual{i}_conv1", d)
        h = ops.relu(StyleNorm(c3, name=f"residual{i}_norm1", dtype=d)([h, embedding]))
        h = _conv(h, c3, 3, 1, f"residual{i}_conv2", d)
        x = x + StyleNorm(c3, name=f"residual{i}_norm2", dtype=d)([h, embedding])
    for i, channels in enumerate((c2, c1), 1):
        # Nearest 2x upsampling, reflect padding and the 3x3 convolution as one convolution
        # at the low resolution (4/9 of the multiplications); the second one, to full
        # resolution, stays on the blocked view.
        blocked = i == 2
        x = UpsampleConv(channels, interleave=not blocked, name=f"expand_conv{i}", dtype=d)(x)
        norm = StyleNorm(channels, block=2 if blocked else 1, name=f"expand_norm{i}", dtype=d)
        x = ops.relu(norm([x, embedding]))
    x = SpaceToDepthConv(3, 9, blocked_input=True, name="expand_conv3", dtype=d)(
        BlockReflectionPad(4, dtype=d)(x))
    x = ops.sigmoid(ops.cast(StyleNorm(3, name="expand_norm3", dtype=d)([x, embedding]), "float32"))
    return keras.Model({"image": photo, "embedding": embedding}, x, name="arbitrary_transformer")


def build_style_predictor() -> keras.Model:
    painting = keras.Input((PREDICTOR_SIZE, PREDICTOR_SIZE, 3), name="painting")
    body = keras.applications.MobileNetV2(input_tensor=painting, include_top=False,
                                          weights=None, alpha=1.0)
    pooled = layers.GlobalAveragePooling2D(name="bottleneck_mean")(body.output)
    embedding = layers.Dense(EMBEDDING, name="bottleneck")(pooled)
    return keras.Model(painting, embedding, name="style_predictor")
