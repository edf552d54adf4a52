"""The exported serving modules: a trained transform net behind its signatures.

Decoding and encoding happen inside the graph, so a client sends and receives image
files and TF Serving needs nothing but the SavedModel (see serving/contract.py). A
multi-style network also takes its controls (style mix, strength, colour preservation)
inside the graph, so any TF Serving client gets them, not only our gateway.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from serving.contract import (
    EMBEDDING_SIZE,
    INPUT_EMBEDDINGS,
    INPUT_IMAGES,
    INPUT_PAINTINGS,
    INPUT_PIXELS,
    INPUT_PRESERVE_COLORS,
    INPUT_STRENGTH,
    INPUT_STYLE_WEIGHTS,
    JPEG_QUALITY,
    OUTPUT_EMBEDDINGS,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    OUTPUT_STYLE_NAMES,
    SIGNATURE_EMBED,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
    SIGNATURE_STYLE_NAMES,
)
from training.arbitrary_net import predictor_input

_PIXELS = tf.TensorSpec([None, None, None, 3], tf.uint8, name=INPUT_PIXELS)
_IMAGES = tf.TensorSpec([None], tf.string, name=INPUT_IMAGES)
_STRENGTH = tf.TensorSpec([None], tf.float32, name=INPUT_STRENGTH)
_PRESERVE_COLORS = tf.TensorSpec([None], tf.bool, name=INPUT_PRESERVE_COLORS)


def _to_uint8(stylized):
    return tf.cast(tf.clip_by_value(tf.round(stylized), 0, 255), tf.uint8)


def _decode(encoded):
    """One image file -> uint8 [1, H, W, 3]: a batch of one runs instance norm on the
    fused kernel (see FastInstanceNorm)."""
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)[None]


# The Y row of tf.image.rgb_to_yuv; its inverse adds Y to R, G and B alike.
_LUMA = (0.299, 0.587, 0.114)


def keep_photo_colors(painted, photo):
    """The painting's luminance with the photo's chrominance, in YUV (Gatys et al. 2016,
    "Preserving Color in Neural Artistic Style Transfer"); float 0..255 [N, H, W, 3].
    YUV is linear and its inverse gives Y to every channel, so this is the photo plus the
    luminance the painting changed: one weighted sum instead of three conversions."""
    return photo + tf.reduce_sum((painted - photo) * tf.constant(_LUMA, painted.dtype), axis=-1,
                                 keepdims=True)


def _colors_kept(painted, photo, preserve_colors):
    """keep_photo_colors for the images that ask for it; skipped when none does (three
    colour conversions at full size: 6 % of a 640x360 frame's time on 2 cores), and no
    per-pixel choice when all do (another 1.5 ms at 512 px)."""
    def some():
        return tf.where(preserve_colors[:, None, None, None], keep_photo_colors(painted, photo),
                        painted)

    return tf.cond(tf.reduce_all(preserve_colors), lambda: keep_photo_colors(painted, photo),
                   lambda: tf.cond(tf.reduce_any(preserve_colors), some, lambda: painted))


def _fused_for_one(stylize, pixels, *controls):
    """stylize(pixels, *controls). A graph built for one image runs instance norm on the
    fused kernel (see InstanceNorm): a batch of one takes it, larger batches the general
    graph."""
    return tf.cond(tf.shape(pixels)[0] == 1,
                   lambda: stylize(tf.ensure_shape(pixels, [1, None, None, 3]), *controls),
                   lambda: stylize(pixels, *controls))


def _each_image(stylize, images, *controls):
    """The JPEGs of stylize(one decoded image, its row of every control): the images of one
    request may differ in size, so each runs on its own."""
    def one(row):
        encoded, *values = row
        pixels = stylize(_decode(encoded), *(value[None] for value in values))
        return tf.io.encode_jpeg(pixels[0], quality=JPEG_QUALITY)

    return {OUTPUT_IMAGES: tf.map_fn(one, (images, *controls), fn_output_signature=tf.string)}


def _strength_checks(strength) -> list:
    return [tf.debugging.assert_less_equal(strength, 1.0, "strength must be <= 1"),
            tf.debugging.assert_non_negative(strength, "strength must be >= 0")]


def _fade_to_photo(painted, photo, strength, power):
    """Fades the photo back in by (1 - strength)^power, so that strength 0 is the photo.
    Power 1 is the plain cross-fade, for networks without an identity condition. Where
    strength already moves the network's condition towards the photo, power 2: that
    condition alone misses the photo by 13-36 grey levels on held-out photos at 512 px
    (darker portraits most), and the square leaves the higher strengths to it (a 9 %
    fade at 0.7)."""
    return painted + (1.0 - strength[:, None, None, None]) ** power * (photo - painted)


class Stylizer(tf.Module):
    def __init__(self, transformer: keras.Model):
        super().__init__(name="stylizer")
        self.transformer = transformer

    def _stylize(self, pixels):
        return _to_uint8(self.transformer(tf.cast(pixels, tf.float32), training=False))

    @tf.function(input_signature=[_PIXELS])
    def stylize_pixels(self, pixels):
        return {OUTPUT_PIXELS: _fused_for_one(self._stylize, pixels)}

    @tf.function(input_signature=[_IMAGES])
    def stylize_images(self, images):
        return _each_image(self._stylize, images)

    def signatures(self) -> dict:
        return {SIGNATURE_ENCODED: self.stylize_images, SIGNATURE_PIXELS: self.stylize_pixels}


class MultiStyleStylizer(tf.Module):
    """A multi-style network (build_transformer(styles=...)) with its controls. Strength
    interpolates the network's conditions from the painting mix towards the identity
    condition when the run trained one (`identity`), and fades the photo back in near 0;
    else it cross-fades pixels."""

    def __init__(self, transformer: keras.Model, style_names: list[str], identity: bool):
        super().__init__(name="multi_style_stylizer")
        self.transformer, self.names, self.identity = transformer, list(style_names), identity
        controls = [tf.TensorSpec([None, len(self.names)], tf.float32, name=INPUT_STYLE_WEIGHTS),
                    _STRENGTH, _PRESERVE_COLORS]
        self.stylize_pixels = tf.function(self._pixels, input_signature=[_PIXELS, *controls])
        self.stylize_images = tf.function(self._images, input_signature=[_IMAGES, *controls])
        self.style_names = tf.function(
            lambda: {OUTPUT_STYLE_NAMES: tf.constant(self.names)}, input_signature=[])

    def conditions(self, style_weights, strength):
        """[N, paintings] mix and [N] strength -> the network's [N, conditions] weights;
        refuses (InvalidArgument) negative or all-zero weights and strength outside 0..1."""
        checks = [tf.debugging.assert_non_negative(style_weights, "style_weights must be >= 0"),
                  tf.debugging.assert_positive(tf.reduce_sum(style_weights, axis=1),
                                               "style_weights must not be all 0"),
                  *_strength_checks(strength)]
        with tf.control_dependencies(checks):
            mix = style_weights / tf.reduce_sum(style_weights, axis=1, keepdims=True)
        if not self.identity:
            return mix
        return tf.concat([mix * strength[:, None], 1.0 - strength[:, None]], axis=1)

    def _stylize(self, pixels, style_weights, strength, preserve_colors):
        photo = tf.cast(pixels, tf.float32)
        painted = self.transformer({"image": photo, "style_weights": self.conditions(
            style_weights, strength)}, training=False)
        painted = _fade_to_photo(painted, photo, strength, power=2 if self.identity else 1)
        return _to_uint8(_colors_kept(painted, photo, preserve_colors))

    def _pixels(self, pixels, style_weights, strength, preserve_colors):
        return {OUTPUT_PIXELS: _fused_for_one(self._stylize, pixels, style_weights, strength,
                                              preserve_colors)}

    def _images(self, images, style_weights, strength, preserve_colors):
        return _each_image(self._stylize, images, style_weights, strength, preserve_colors)

    def signatures(self) -> dict:
        return {SIGNATURE_ENCODED: self.stylize_images, SIGNATURE_PIXELS: self.stylize_pixels,
                SIGNATURE_STYLE_NAMES: self.style_names}


class ArbitraryStylizer(tf.Module):
    """The arbitrary-style networks (training/arbitrary_net.py): any painting's embedding
    paints the photo at its own resolution. Strength interpolates the embedding from the
    photo's own (the predictor run on the photo) to the painting's (Ghiasi et al. 2017)."""

    def __init__(self, predictor: keras.Model, transformer: keras.Model):
        super().__init__(name="arbitrary_stylizer")
        self.predictor, self.transformer = predictor, transformer
        controls = [tf.TensorSpec([None, EMBEDDING_SIZE], tf.float32, name=INPUT_EMBEDDINGS),
                    _STRENGTH, _PRESERVE_COLORS]
        self.stylize_pixels = tf.function(self._pixels, input_signature=[_PIXELS, *controls])
        self.stylize_images = tf.function(self._images, input_signature=[_IMAGES, *controls])
        self.embed_paintings = tf.function(
            self._embed, input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_PAINTINGS)])

    def embedding(self, pixels):
        """float 0..255 [N, H, W, 3] -> [N, 100]: the centre square at the predictor's size."""
        return self.predictor(predictor_input(pixels), training=False)

    def _embed(self, paintings):
        def one(encoded):
            return self.embedding(tf.cast(_decode(encoded), tf.float32))[0]

        return {OUTPUT_EMBEDDINGS: tf.map_fn(one, paintings, fn_output_signature=tf.float32)}

    def _stylize(self, pixels, embeddings, strength, preserve_colors):
        photo = tf.cast(pixels, tf.float32)
        with tf.control_dependencies(_strength_checks(strength)):
            weight = strength[:, None]
        embeddings = tf.cond(tf.reduce_all(strength >= 1.0), lambda: embeddings,
                             lambda: weight * embeddings + (1 - weight) * self.embedding(photo))
        # The network halves the size twice: reflect-pad to a multiple of 4, crop after.
        height, width = tf.shape(photo)[1], tf.shape(photo)[2]
        padded = tf.pad(photo, [[0, 0], [0, (-height) % 4], [0, (-width) % 4], [0, 0]],
                        mode="REFLECT")
        painted = self.transformer({"image": padded / 255.0, "embedding": embeddings},
                                   training=False)[:, :height, :width] * 255.0
        painted = _fade_to_photo(painted, photo, strength, power=2)
        return _to_uint8(_colors_kept(painted, photo, preserve_colors))

    def _pixels(self, pixels, embeddings, strength, preserve_colors):
        return {OUTPUT_PIXELS: _fused_for_one(self._stylize, pixels, embeddings, strength,
                                              preserve_colors)}

    def _images(self, images, embeddings, strength, preserve_colors):
        return _each_image(self._stylize, images, embeddings, strength, preserve_colors)

    def signatures(self) -> dict:
        return {SIGNATURE_ENCODED: self.stylize_images, SIGNATURE_PIXELS: self.stylize_pixels,
                SIGNATURE_EMBED: self.embed_paintings}
