"""The training model: transform net + frozen loss network, trained through `fit()`.

Overriding `train_step` (instead of a hand-written loop) gives callbacks, checkpoints and
TensorBoard from Keras for free; `compute_losses()` also scores a run's contact sheet.
Keras asks each backend for its own `train_step`: TensorFlow's takes the gradient on a
tape, JAX's is a pure function of the variables' values (training/backend.py).
"""
from __future__ import annotations

import keras
from keras import ops

from training.backend import on_tensorflow
from training.loss_config import LossConfig
from training.losses import (
    colour_loss,
    colour_moments,
    content_loss,
    stacked_statistics,
    style_loss,
    style_statistic,
    total_variation_loss,
)

LOSS_NAMES = ("loss", "content", "style", "tv", "target")


def in_float32(features: dict) -> dict:
    """Under mixed precision the loss network computes in float16, where a GPU's speed is;
    the losses' sums (a Gram entry sums 65k products at 256 px, totals reach 1e5) overflow
    float16's 65504, so they are taken in float32."""
    return {name: ops.cast(value, "float32") for name, value in features.items()}


def _half_size(images):
    """[N,H,W,3] -> [N,H/2,W/2,3], each pixel the mean of a 2x2 block."""
    return ops.average_pool(ops.convert_to_tensor(images, "float32"), 2, 2)


class StyleTransferModel(keras.Model):
    """Wraps a transform net; `fit()` on batches of RGB [N,H,W,3] float photos in 0..255.

    With several paintings the transform net is the multi-style one
    (build_transformer(styles=N)): each step trains one painting, in turn, whose
    scales and shifts the one-hot style weights select (Dumoulin et al. 2017). With
    `identity` one more condition, after the paintings, learns to give back the photo: a
    style strength below 1 can then interpolate a painting's scales and shifts towards it
    instead of cross-fading pixels. `trained` names the conditions that take turns (by
    default all); the others keep what they start with. `targeted` lists the paintings
    (by number) that have targets, in the order of the batches' refined pictures
    (training/data.py): their steps paint the targets' crops and keep the content of
    their refined pictures as well as their own (distillation of Refine in HD)."""

    def __init__(self, transformer: keras.Model, loss_network: keras.Model,
                 style_images: list, losses: LossConfig, identity: bool = False,
                 trained: list[int] | None = None, style_weights: list[float] | None = None,
                 layer_weights: list[dict[str, float]] | None = None,
                 targeted: list[int] | None = None, distances: list[str] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self.loss_network = loss_network
        self.loss_config = losses
        # Photos only need the content layer, and no gradient: a shorter, forward-only pass
        # through shared VGG layers (about 30 % less work per step than one joint pass).
        self.content_network = keras.Model(
            loss_network.input, loss_network.output[losses.content_layer], name="vgg19_content")
        self.paintings = len(style_images)
        # One per painting; losses.style_weight for each unless given.
        self.style_weights = ops.convert_to_tensor(
            style_weights or [losses.style_weight] * self.paintings, "float32")
        # {layer: [paintings]}: each painting's weight of each style layer, losses.style_layers'
        # unless given (a deep layer heavier for the paintings with large shapes).
        per_painting = layer_weights or [losses.style_layers] * self.paintings
        self.layer_weights = {layer: ops.convert_to_tensor([w[layer] for w in per_painting],
                                                           "float32")
                              for layer in losses.style_layers}
        self.styles = self.paintings + int(identity)  # the transform net's conditions
        self.trained = ops.convert_to_tensor(trained or list(range(self.styles)), "int32")
        # Each condition's place among the batches' refined pictures; -1: none (identity).
        targeted = targeted or []
        self.target_slots = ops.convert_to_tensor(
            [targeted.index(c) if c in targeted else -1 for c in range(self.styles)], "int32")
        # Each painting's style distance, losses.style_distance's unless given; a step
        # computes only its painting's (a branch: computing both under a mask took 2.5-2.8 s
        # a step on 2 CPU cores for Kandinsky, Van Gogh and Hokusai by SW, the branch 1.1 s).
        distances = distances or [losses.style_distance] * self.paintings
        users = {d: [i for i, mine in enumerate(distances) if mine == d] for d in set(distances)}
        self.distance_masks = {d: ops.convert_to_tensor([float(i in users[d])
                                                         for i in range(self.paintings)])
                               for d in sorted(users)}
        # Each painting's row among its distance's targets (0 among the other's, which its
        # steps never read): each distance keeps only its own paintings' statistics, as
        # the sorted projections of a large painting take hundreds of MB.
        self.target_rows = {d: ops.convert_to_tensor(
            [users[d].index(i) if i in users[d] else 0 for i in range(self.paintings)], "int32")
            for d in users}
        self.style_targets = self._all_targets(loss_network, style_images, users, losses)
        if losses.half_size_style_weight:
            self.half_size_targets = self._all_targets(
                loss_network, [_half_size(image[None])[0] for image in style_images], users,
                losses)
        if losses.colour_style_weight:
            self.colour_targets = ops.concatenate(
                [colour_moments(ops.convert_to_tensor(image[None], "float32"))
                 for image in style_images], axis=0)

    def _all_targets(self, loss_network, images: list, users: dict, losses: LossConfig) -> dict:
        """{distance: {layer: [its paintings, ...]}}: the style statistics of each layer
        (Grams [C, C] or sorted projections [C, positions]) of the paintings that use each
        distance (`users`: {distance: painting numbers}), one tensor per layer."""
        features = [in_float32(loss_network(ops.convert_to_tensor(image[None], "float32")))
                    for image in images]
        return {distance: {layer: ops.stop_gradient(stacked_statistics(
            [style_statistic(features[i][layer], distance) for i in paintings], distance))
            for layer in losses.style_layers} for distance, paintings in users.items()}

    def call(self, images, style=0, training=False):
        """Paints `images` in painting number `style`."""
        if self.styles == 1:
            return self.transformer(images, training=training)
        weights = ops.one_hot(ops.full([ops.shape(images)[0]], style, "int32"), self.styles)
        return self.transformer({"image": images, "style_weights": weights}, training=training)

    def _inputs_of(self, batch, style):
        """(the photos the step paints, their refined pictures or None, whether the step
        has targets): a painting with targets paints their crops, every other condition
        (the identity too) the batch's photos."""
        if not isinstance(batch, dict):
            return batch, None, False
        slot = self.target_slots[style]
        targeted = ops.greater_equal(slot, 0)
        photos = ops.where(targeted, batch["crops"], batch["photos"])
        return photos, ops.take(batch["refined"], ops.maximum(slot, 0), axis=1), targeted

    def compute_losses(self, batch, training: bool, style=0) -> dict:
        """The loss terms of painting a batch (photos, or training/data.py's dict with
        targets) in condition number `style`."""
        cfg = self.loss_config
        photos, refined, targeted = self._inputs_of(batch, style)
        stylized = ops.cast(self(photos, style=style, training=training), "float32")
        generated = in_float32(self.loss_network(stylized))
        content = content_loss(generated[cfg.content_layer], self._content_target(photos))
        painting = ops.minimum(style, self.paintings - 1)
        layers = {layer: weight[painting] for layer, weight in self.layer_weights.items()}
        style_term = self._style_term(generated, self.style_targets, painting, layers)
        if cfg.half_size_style_weight:
            half = in_float32(self.loss_network(_half_size(stylized)))
            style_term += cfg.half_size_style_weight * self._style_term(
                half, self.half_size_targets, painting, layers)
        if cfg.colour_style_weight and "gram" in self.distance_masks:
            target = self.colour_targets[painting][None]
            style_term += self.distance_masks["gram"][painting] * cfg.colour_style_weight * \
                colour_loss(stylized, target)
        tv = total_variation_loss(stylized)
        total = cfg.content_weight * content
        painted = self.style_weights[painting] * style_term + cfg.tv_weight * tv
        if self.styles > self.paintings:
            # The identity condition's target is the photo itself: no painting, and no TV.
            # Per pixel TV pulls with tv_weight * 4 / (H W) whatever the error, the pixel
            # loss with identity_weight * 2 * error / (3 H W): at the TV weights that keep
            # paintings clean (500-3000) they balance 30-180 grey levels off the photo.
            identity = ops.cast(ops.equal(style, self.paintings), "float32")
            style_term = style_term * (1 - identity)
            painted = painted * (1 - identity)
            total += identity * cfg.identity_weight * ops.mean(ops.square(stylized - photos))
        total += painted
        terms = {"content": content, "style": style_term, "tv": tv}
        if refined is not None:
            # Distillation: the refined pictures' content too, so the shapes Refine in HD
            # paints come without losing the photo, which the refine paints over.
            terms["target"] = ops.where(targeted, content_loss(
                generated[cfg.content_layer], self._content_target(refined)), 0.0)
            total += cfg.content_weight * cfg.target_weight * terms["target"]
        return {"loss": total, **terms}

    def _style_term(self, generated: dict, targets: dict, painting, layers: dict):
        """The style loss of `painting` (a tensor) by its distance."""
        def by(distances: list):
            distance = distances[0]
            if len(distances) == 1:
                row = self.target_rows[distance][painting]
                mine = {layer: target[row][None] for layer, target in targets[distance].items()}
                return style_loss(generated, mine, layers, distance)
            return ops.cond(self.distance_masks[distance][painting] > 0,
                            lambda: by([distance]), lambda: by(distances[1:]))
        return by(list(self.distance_masks))

    def _content_target(self, images):
        return ops.stop_gradient(ops.cast(self.content_network(images), "float32"))

    def _condition_at(self, step):
        """The conditions take turns rather than being drawn at random: each is trained as
        often, and a short run trains every one (4 random draws of 3 once left one out)."""
        return self.trained[ops.cast(step % self.trained.shape[0], "int32")]

    def _tensorflow_train_step(self, data):
        import tensorflow as tf

        batch = keras.utils.unpack_x_y_sample_weight(data)[0]
        style = self._condition_at(self.optimizer.iterations)
        with tf.GradientTape() as tape:
            losses = self.compute_losses(batch, training=True, style=style)
            scaled = self.optimizer.scale_loss(losses["loss"])
        variables = self.transformer.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return losses

    def _jax_train_step(self, state, data):
        """The same step as a pure function: `state` holds the values of the model's
        trainable, non-trainable, optimizer and metric variables, and the step returns
        new ones (Keras keeps them on the device between steps). Only the transform net
        trains; the losses' networks have no state that a step changes."""
        import jax

        batch = keras.utils.unpack_x_y_sample_weight(data)[0]
        trainable, non_trainable, optimizer_values, metric_values = state
        iterations = next(value for variable, value in zip(self.optimizer.variables,
                                                            optimizer_values, strict=True)
                          if variable is self.optimizer.iterations)
        style = self._condition_at(iterations)
        frozen = list(zip(self.non_trainable_variables, non_trainable, strict=True))

        def loss_of(values):
            mapping = list(zip(self.trainable_variables, values, strict=True)) + frozen
            with keras.StatelessScope(state_mapping=mapping):
                losses = self.compute_losses(batch, training=True, style=style)
            return losses["loss"], losses

        grads, losses = jax.grad(loss_of, has_aux=True)(trainable)
        trainable, optimizer_values = self.optimizer.stateless_apply(
            optimizer_values, grads, trainable)
        return losses, (trainable, non_trainable, optimizer_values, metric_values)

    # Both steps return the step's own losses, not running means (the model keeps no
    # metrics), so that progress and TensorBoard show the trend.
    train_step = _tensorflow_train_step if on_tensorflow() else _jax_train_step

