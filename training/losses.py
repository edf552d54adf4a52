"""Perceptual losses of Johnson et al. (2016): content, Gram-matrix style, total variation.

All functions take float32 tensors and return scalars averaged over the batch.
"""
from __future__ import annotations

from keras import ops


def gram_matrix(features):
    """[N,H,W,C] activations -> [N,C,C] Gram matrices divided by H*W*C.

    Dividing by the size makes the style target independent of the image size, so a
    style painting at 512 px can supervise 256 px training crops.
    """
    shape = ops.shape(features)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = ops.reshape(features, (n, h * w, c))
    gram = ops.matmul(ops.transpose(flat, (0, 2, 1)), flat)
    return gram / ops.cast(h * w * c, gram.dtype)


def content_loss(generated, target):
    """Mean squared error between activations of one layer."""
    return ops.mean(ops.square(generated - target))


def style_loss(generated: dict, style_grams: dict, layer_weights: dict):
    """Weighted sum over layers of the MSE between Gram matrices.

    `style_grams` holds the style image's [1,C,C] Gram matrices; they broadcast over
    the batch.
    """
    total = 0.0
    for layer, weight in layer_weights.items():
        gram = gram_matrix(generated[layer])
        total = total + weight * ops.mean(ops.square(gram - style_grams[layer]))
    return total


def total_variation_loss(images):
    """Mean over the batch of sum |dx| + |dy| divided by H*W (images [N,H,W,C])."""
    dx = ops.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    dy = ops.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    shape = ops.shape(images)
    per_image = ops.sum(dx, axis=(1, 2, 3)) + ops.sum(dy, axis=(1, 2, 3))
    return ops.mean(per_image) / ops.cast(shape[1] * shape[2], images.dtype)
