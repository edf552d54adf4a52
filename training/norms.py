"""Instance normalization, plain and conditional: the transform network's one kind of
normalization, shared by its paper form (transformer_net.py) and its fast form
(fast_layers.py)."""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="training")
class InstanceNorm(layers.Layer):
    """Normalizes each channel of each image over height and width, then scales and shifts.

    With `styles` it is conditional instance normalization (Dumoulin, Shlens and Kudlur
    2017, "A Learned Representation for Artistic Style"): one scale and shift per style,
    and `style_weights` [N, styles] mixes them per image (one-hot picks one style).
    """

    def __init__(self, epsilon: float = 1e-5, styles: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.styles = styles

    def build(self, x_shape, style_weights_shape=None):
        shape = (self.styles, x_shape[-1]) if self.styles else (x_shape[-1],)
        self.gamma = self.add_weight(shape=shape, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=shape, initializer="zeros", name="beta")

    def call(self, x, style_weights=None):
        # Moments in float32 even under mixed precision: in float16 a variance of
        # activations in the hundreds loses precision or overflows.
        x32 = ops.cast(x, "float32")
        mean, variance = ops.moments(x32, axes=[1, 2], keepdims=True)
        gamma, beta = self.scale_and_shift(style_weights)
        scale = ops.rsqrt(variance + self.epsilon) * gamma[:, None, None, :]
        shift = beta[:, None, None, :] - mean * scale
        return ops.cast(x32 * scale + shift, x.dtype)

    def scale_and_shift(self, style_weights):
        """float32 (gamma, beta), each [N or 1, channels]: the layer's own, or with `styles`
        the per-style ones mixed by `style_weights` [N, styles]."""
        gamma, beta = ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32")
        if not self.styles:
            return gamma[None], beta[None]
        if style_weights is None:
            raise ValueError(f"{self.name} is conditional on {self.styles} styles: "
                             "give style_weights")
        weights = ops.cast(style_weights, "float32")
        return ops.matmul(weights, gamma), ops.matmul(weights, beta)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "styles": self.styles}
