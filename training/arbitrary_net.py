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

import keras
import tensorflow as tf
from keras import layers, ops

from training.fast_layers import SpaceToDepthConv, UpsampleConv, mirror_pad

EMBEDDING = 100
TRANSFORMER_CHANNELS = (8, 16, 32)
RESIDUAL_BLOCKS = 5
PREDICTOR_SIZE = 256


class StyleNorm(layers.Layer):
    """Instance norm with the scale and shift predicted from the style embedding (two
    dense maps, the 1x1 convolutions of the published graph)."""

    def __init__(self, channels: int, epsilon: float = 1e-5, **kwargs):  # the graph's
        super().__init__(**kwargs)
        self.channels, self.epsilon = channels, epsilon
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
        # a million pixels is off by percents.
        mean, variance = ops.moments(ops.cast(x, "float32"), axes=[1, 2], keepdims=True)
        scale = self.scale(embedding)[:, None, None, :]
        shift = self.shift(embedding)[:, None, None, :]
        normalized = ops.cast((ops.cast(x, "float32") - mean) * ops.rsqrt(variance + self.epsilon),
                              x.dtype)
        return normalized * scale + shift

    def _one_image(self, x, scale, shift):
        """Instance norm of one image, statistics in float32, without the general form's
        five element-wise passes (half the network's time at 1024 px). Two forms, whose
        speed differs tenfold with the channel count: TensorFlow's fused batch-norm kernel
        (batch norm of one image is its instance norm; 1.4 ms for 16 channels at 512x384,
        but oneDNN vectorises over channels 16 at a time: 65 ms for 8 at 1024x768), and
        under 16 channels the pixels taken 4 at a time as rows of 4C values (12 ms; needs
        a pixel count that 4 divides, as every such layer here has: full and half
        resolution of a photo padded to multiples of 4)."""
        if self.channels % 16 == 0:
            return tf.compat.v1.nn.fused_batch_norm(x, scale, shift, epsilon=self.epsilon,
                                                    is_training=True)[0]
        k, c = 4, self.channels
        rows = ops.cast(ops.reshape(x, [-1, k * c]), "float32")
        mean = ops.mean(ops.reshape(ops.mean(rows, axis=0), [k, c]), axis=0)
        mean_square = ops.mean(ops.reshape(ops.mean(ops.square(rows), axis=0), [k, c]), axis=0)
        factor = scale * ops.rsqrt(ops.maximum(mean_square - mean * mean, 0.0) + self.epsilon)
        offset = shift - mean * factor
        normalized = rows * ops.tile(factor, [k]) + ops.tile(offset, [k])
        return ops.cast(ops.reshape(normalized, ops.shape(x)), x.dtype)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "epsilon": self.epsilon}


def _conv(x, channels: int, kernel: int, stride: int, name: str, dtype: str):
    """Reflect padding, then a valid convolution: as the published graph pads."""
    padded = mirror_pad(x, kernel // 2, kernel // 2)
    if kernel == 9:  # 3 and 8 channels at full resolution: see SpaceToDepthConv
        return SpaceToDepthConv(channels, kernel, name=name, dtype=dtype)(padded)
    return layers.Conv2D(channels, kernel, stride, name=name, dtype=dtype)(padded)


def build_arbitrary_transformer(dtype_policy: str = "float32") -> keras.Model:
    """`dtype_policy` "mixed_bfloat16" computes in bfloat16 (1.7x faster at 1024 px on a CPU
    with native bfloat16), the output in float32 either way."""
    photo = keras.Input((None, None, 3), name="image")
    embedding = keras.Input((EMBEDDING,), name="embedding")
    c1, c2, c3 = TRANSFORMER_CHANNELS
    x, d = photo, dtype_policy
    for i, (channels, kernel, stride) in enumerate(((c1, 9, 1), (c2, 3, 2), (c3, 3, 2)), 1):
        x = ops.relu(_conv(x, channels, kernel, stride, f"contract_conv{i}", d))
    for i in range(1, RESIDUAL_BLOCKS + 1):
        h = _conv(x, c3, 3, 1, f"residual{i}_conv1", d)
        h = ops.relu(StyleNorm(c3, name=f"residual{i}_norm1", dtype=d)([h, embedding]))
        h = _conv(h, c3, 3, 1, f"residual{i}_conv2", d)
        x = x + StyleNorm(c3, name=f"residual{i}_norm2", dtype=d)([h, embedding])
    for i, channels in enumerate((c2, c1), 1):
        # Nearest 2x upsampling, reflect padding and the 3x3 convolution as one convolution
        # at the low resolution: 4/9 of the multiplications, 13 % of the network's.
        x = UpsampleConv(channels, name=f"expand_conv{i}", dtype=d)(x)
        x = ops.relu(StyleNorm(channels, name=f"expand_norm{i}", dtype=d)([x, embedding]))
    x = _conv(x, 3, 9, 1, "expand_conv3", d)
    x = ops.sigmoid(ops.cast(StyleNorm(3, name="expand_norm3", dtype=d)([x, embedding]), "float32"))
    return keras.Model({"image": photo, "embedding": embedding}, x, name="arbitrary_transformer")


def build_style_predictor() -> keras.Model:
    painting = keras.Input((PREDICTOR_SIZE, PREDICTOR_SIZE, 3), name="painting")
    body = keras.applications.MobileNetV2(input_tensor=painting, include_top=False,
                                          weights=None, alpha=1.0)
    pooled = layers.GlobalAveragePooling2D(name="bottleneck_mean")(body.output)
    embedding = layers.Dense(EMBEDDING, name="bottleneck")(pooled)
    return keras.Model(painting, embedding, name="style_predictor")
