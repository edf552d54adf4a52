"""The training model: transform net + frozen loss network, trained through `fit()`.

Overriding `train_step` (instead of a hand-written loop) gives callbacks, checkpoints and
TensorBoard from Keras for free, and one `compute_losses()` is shared by training and test.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf
from keras import ops

from training.losses import content_loss, gram_matrix, style_loss, total_variation_loss

LOSS_NAMES = ("loss", "content", "style", "tv")


@dataclass(frozen=True)
class LossConfig:
    """Loss layers and weights; the defaults give a clearly stylized, recognisable photo."""

    content_layer: str = "block4_conv2"
    content_weight: float = 1.0
    # With Keras' VGG19 weights the Gram term of block4_conv1 is about 20x the others;
    # at full weight it dominates, paints over faces and bleaches colours. 0.2 keeps its
    # large strokes without erasing the photo (compared side by side on held-out photos).
    style_layers: dict[str, float] = field(default_factory=lambda: {
        "block1_conv1": 1.0, "block2_conv1": 1.0, "block3_conv1": 1.0,
        "block4_conv1": 0.2, "block5_conv1": 1.0,
    })
    style_weight: float = 5.0
    tv_weight: float = 1e-5

    @property
    def vgg_layers(self) -> list[str]:
        return sorted({self.content_layer, *self.style_layers})


class StyleTransferModel(keras.Model):
    """Wraps a transform net; `fit()` on batches of RGB [N,H,W,3] float photos in 0..255."""

    def __init__(self, transformer: keras.Model, loss_network: keras.Model,
                 style_image, losses: LossConfig, **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self.loss_network = loss_network
        self.loss_config = losses
        # Photos only need the content layer, and no gradient: a shorter, forward-only pass
        # through shared VGG layers (about 30 % less work per step than one joint pass).
        self.content_network = keras.Model(
            loss_network.input, loss_network.output[losses.content_layer], name="vgg19_content")
        style_features = loss_network(ops.convert_to_tensor(style_image[None], "float32"))
        self.style_grams = {
            layer: ops.stop_gradient(gram_matrix(style_features[layer]))
            for layer in losses.style_layers
        }
        self.trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.transformer(images, training=training)

    def compute_losses(self, photos, training: bool) -> dict:
        cfg = self.loss_config
        stylized = self.transformer(photos, training=training)
        generated = self.loss_network(stylized)
        target = ops.stop_gradient(self.content_network(photos))
        content = content_loss(generated[cfg.content_layer], target)
        style = style_loss(generated, self.style_grams, cfg.style_layers)
        tv = total_variation_loss(stylized)
        total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        return {"loss": total, "content": content, "style": style, "tv": tv}

    def _report(self, losses: dict) -> dict:
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        # Per-step values (not running means) so progress and TensorBoard show the trend.
        return dict(losses)

    def train_step(self, photos):
        with tf.GradientTape() as tape:
            losses = self.compute_losses(photos, training=True)
            scaled = self.optimizer.scale_loss(losses["loss"])
        variables = self.transformer.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return self._report(losses)

    def test_step(self, photos):
        return self._report(self.compute_losses(photos, training=False))
