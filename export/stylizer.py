"""The exported serving module: a trained transform net behind two signatures.

Decoding and encoding happen inside the graph, so a client sends and receives image
files and TF Serving needs nothing but the SavedModel (see serving/contract.py).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from serving.contract import (
    INPUT_IMAGES,
    INPUT_PIXELS,
    JPEG_QUALITY,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
)


class Stylizer(tf.Module):
    def __init__(self, transformer: keras.Model):
        super().__init__(name="stylizer")
        self.transformer = transformer

    def _stylize(self, pixels):
        stylized = self.transformer(tf.cast(pixels, tf.float32), training=False)
        return tf.cast(tf.clip_by_value(tf.round(stylized), 0, 255), tf.uint8)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name=INPUT_PIXELS)])
    def stylize_pixels(self, pixels):
        # A graph built for one image runs instance norm on the fused kernel (see
        # InstanceNorm): a batch of one takes it, larger batches the general graph.
        stylized = tf.cond(tf.shape(pixels)[0] == 1,
                           lambda: self._stylize(tf.ensure_shape(pixels, [1, None, None, 3])),
                           lambda: self._stylize(pixels))
        return {OUTPUT_PIXELS: stylized}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_IMAGES)])
    def stylize_images(self, images):
        def one(encoded):
            pixels = tf.io.decode_image(encoded, channels=3, expand_animations=False)
            return tf.io.encode_jpeg(self._stylize(pixels[None])[0], quality=JPEG_QUALITY)

        # Images of one request may differ in size, so each runs on its own.
        return {OUTPUT_IMAGES: tf.map_fn(one, images, fn_output_signature=tf.string)}

    def signatures(self) -> dict:
        return {SIGNATURE_ENCODED: self.stylize_images, SIGNATURE_PIXELS: self.stylize_pixels}
