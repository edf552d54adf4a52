"""The two networks of arbitrary style transfer (Ghiasi et al. 2017, "Exploring the
structure of a real-time, arbitrary neural artistic stylization network"), in the small
form of Magenta's TF Hub release: a style predictor that turns any painting into a
100-number embedding, and a transformer that paints a photo with an embedding.

We do not train them (that takes ~80k paintings and GPU-days): training/magenta_weights.py
loads the published weights into them. Both take and give pixels in 0..1.

- `build_style_predictor()`: Keras' MobileNetV2 body with the published predictor's
  biases in place of its batch norms (they were folded into them) on a 256 x 256
  painting, global average pooling, and a linear bottleneck to the embedding.
- `build_arbitrary_transformer()`: three convolutions down (9x9, 3x3/2, 3x3/2, no
  normalization), five residual blocks and three convolutions up (nearest upsampling),
  every one of those normalized by `StyleNorm`: instance norm whose scale and shift come
  from the embedding. Fully convolutional: any photo whose sides are multiples of 4.
- `build_painting_network()`: the preset "magenta", a multi-style network (Dumoulin et
  al. 2017) made of that transformer: its shared convolutions start as published (and
  stay so unless the run tunes them), each painting's scales and shifts are a row of
  embedding that training refines (started at the predictor's embedding of the
  painting; training/magenta_weights.py).
"""
from __future__ import annotations

import math

import keras
from keras import layers, ops

from training.backend import on_tensorflow
from training.dtype_policy import building_in
from training.fast_layers import (
    BlockReflectionPad,
    DownsampleConv,
    SpaceToDepthConv,
    UpsampleConv,
    mirror_pad,
)
from training.presets import PAINTING_PRESET

ARBITRARY_TRANSFORMER = "arbitrary_transformer"
EMBEDDING = 100
TRANSFORMER_CHANNELS = (8, 16, 32)
RESIDUAL_BLOCKS = 5
PREDICTOR_SIZE = 256  # a painting's embedding: as the published predictor was fed
# The photo's own embedding (the identity condition, strength < 1) runs on every request:
# from a 192 px square it takes 0.7x the predictor's time of 256 px, and changes a picture
# at strength 0.7 by 2 grey levels on average (docs/benchmarks.md, "the multi-style model").
PHOTO_EMBEDDING_SIZE = 192


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
        if x.shape[0] == 1 and on_tensorflow():  # a graph built for one image, as FastInstanceNorm
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
        import tensorflow as tf

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
    return keras.Model({"image": photo, "embedding": embedding}, x, name=ARBITRARY_TRANSFORMER)


def build_style_predictor() -> keras.Model:
    """Keras' MobileNetV2 as published: each convolution with its bias, no batch norms
    (Keras' body puts one after every bias-free convolution; carrying the published
    biases in them made every request at strength < 1 ~15 ms slower on an AVX2 CPU).
    Any square side: paintings at PREDICTOR_SIZE, the photo at PHOTO_EMBEDDING_SIZE."""
    painting = keras.Input((None, None, 3), name="painting")
    body = keras.models.clone_model(
        keras.applications.MobileNetV2(input_tensor=painting, include_top=False,
                                       weights=None, alpha=1.0),
        clone_function=_with_bias, call_function=_skipping_batch_norms)
    pooled = layers.GlobalAveragePooling2D(name="bottleneck_mean")(body.output)
    embedding = layers.Dense(EMBEDDING, name="bottleneck")(pooled)
    return keras.Model(body.inputs[0], embedding, name="style_predictor")


def _with_bias(layer):
    config = layer.get_config()
    if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
        config["use_bias"] = True
    return layer.__class__.from_config(config)


def _skipping_batch_norms(layer, *args, **kwargs):
    if isinstance(layer, layers.BatchNormalization):
        return args[0]
    return layer(*args, **kwargs)


def predictor_input(pixels, side: int = PREDICTOR_SIZE):
    """float 0..255 [N, H, W, 3] -> the predictor's input: the centre square, side x side,
    in 0..1 (how the published predictor was fed)."""
    return ops.image.resize(pixels, [side, side], antialias=True, crop_to_aspect_ratio=True) / 255.0


class PaintingEmbeddings(layers.Layer):
    """Style weights [N, conditions] -> embeddings [N, 100]: the weighted sum of the table's
    rows, one per condition, so a mix of paintings mixes their scales and shifts (every
    StyleNorm is affine in the embedding). With `identity` the last condition is the
    photo's own embedding (the predictor run on it at PHOTO_EMBEDDING_SIZE; Ghiasi et
    al.'s strength) plus its row, which training refines to give back the photo; the
    predictor runs only when a request asks for that condition."""

    def __init__(self, conditions: int, identity: bool, **kwargs):
        super().__init__(**kwargs)
        self.conditions, self.identity = conditions, identity
        self.table = layers.Dense(EMBEDDING, use_bias=False, name="table", dtype="float32")
        self.predictor = None
        if identity:
            with building_in("float32"):  # once per photo: not worth rounding
                self.predictor = build_style_predictor()
            self.predictor.trainable = False

    def build(self, input_shape):
        self.table.build((None, self.conditions))
        if self.predictor is not None:
            self.predictor.build((None, PREDICTOR_SIZE, PREDICTOR_SIZE, 3))

    def call(self, inputs):
        image, weights = inputs
        embedding = self.table(ops.cast(weights, "float32"))
        if self.predictor is None:
            return embedding
        own = ops.cast(weights[:, -1:], "float32")
        return embedding + ops.cond(
            ops.any(own > 0),
            lambda: own * self.predictor(
                predictor_input(ops.cast(image, "float32"), PHOTO_EMBEDDING_SIZE), training=False),
            lambda: ops.zeros_like(embedding))

    def compute_output_shape(self, input_shape):
        # Keras would otherwise trace call() to find it, and JAX cannot crop a photo of
        # unknown size for the predictor.
        return (input_shape[1][0], EMBEDDING)

    def get_config(self):
        return {**super().get_config(), "conditions": self.conditions, "identity": self.identity}


def build_painting_network(conditions: int, identity: bool,
                           dtype_policy: str = "float32") -> keras.Model:
    """{"image": [N, H, W, 3] 0..255, "style_weights": [N, conditions]} -> pixels 0..255, as
    build_transformer(styles=...) takes and gives; any size (reflect-padded to a multiple
    of 4 and cropped back). Only the table trains: the shared convolutions learned from
    ~80k paintings are what makes this network paint (Dumoulin et al. 2017 train a new
    style the same way, its scales and shifts alone); a run with `tune_network` sets
    the transformer trainable too."""
    from training.transformer_net import CropLike, PadToMultiple  # it imports this module

    image = keras.Input((None, None, 3), name="image")
    weights = keras.Input((conditions,), name="style_weights")
    embedding = PaintingEmbeddings(conditions, identity, name="painting_embeddings")(
        [image, weights])
    transformer = build_arbitrary_transformer(dtype_policy)
    transformer.trainable = False
    padded = PadToMultiple(4, name="pad_to_4")(image)
    unit = layers.Rescaling(1 / 255.0, name="to_unit")(padded)
    painted = layers.Rescaling(255.0, dtype="float32", name="to_pixels")(
        transformer({"image": unit, "embedding": embedding}))
    return keras.Model({"image": image, "style_weights": weights},
                       CropLike(name="crop", dtype="float32")(painted, image),
                       name=f"transformer_{PAINTING_PRESET}")
