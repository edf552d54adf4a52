"""Perceptual losses of Johnson et al. (2016): content, Gram-matrix style, total variation;
a sliced-Wasserstein style distance (Heitz et al. 2021) in place of the Grams; and a
colour term on the picture's own RGB moments.

All functions take float32 tensors (the style statistics also bfloat16 ones); the losses
return scalars averaged over the batch, the statistics and the colour moments one value
per picture.
"""
from __future__ import annotations

import functools

import numpy as np
from keras import ops


def gram_matrix(features):
    """[N,H,W,C] activations -> [N,C,C] Gram matrices divided by H*W*C.

    Dividing by the size makes the style target independent of the image size, so a
    style painting at 512 px can supervise 256 px training crops.
    """
    shape = ops.shape(features)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = ops.reshape(features, (n, h * w, c))
    if features.dtype == "bfloat16":
        gram = _bfloat16_gram(flat)
    else:
        gram = _gram(flat)
    return gram / ops.cast(h * w * c, gram.dtype)


@ops.custom_gradient
def _gram(flat):
    """[N,P,C] -> [N,C,C] F^T F, whose gradient F (dG + dG^T) is one matmul: the one
    the framework derives takes two and transposes the features (without oneDNN, the
    Grams' share of a Gatys iteration at 256 px fell by half)."""
    def gradient(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        return ops.matmul(flat, upstream + ops.transpose(upstream, (0, 2, 1)))

    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat), gradient


BFLOAT16_GRAM_PARTS = 16


def _bfloat16_gram(flat):
    """[N,P,C] bfloat16 -> [N,C,C] float32 Grams, 8 % faster per Gatys iteration than
    casting the features to float32 first. A bfloat16 matmul rounds its sums to 8 bits,
    which doubled the loss's noise floor; 16 partial sums over the positions, added in
    float32, leave 1/16 of that rounding error (measured: the noise floor +2 %)."""
    n, positions, c = ops.shape(flat)[0], ops.shape(flat)[1], ops.shape(flat)[2]
    k = BFLOAT16_GRAM_PARTS
    flat = ops.pad(flat, [[0, 0], [0, (-positions) % k], [0, 0]])  # zero rows add nothing
    parts = ops.reshape(flat, (n * k, -1, c))
    partial = ops.cast(ops.matmul(ops.transpose(parts, (0, 2, 1)), parts), "float32")
    return ops.sum(ops.reshape(partial, (n, k, c, c)), axis=1)


def content_loss(generated, target):
    """Mean squared error between activations of one layer."""
    return ops.mean(ops.square(generated - target))


@functools.cache
def _directions(channels: int) -> np.ndarray:
    """[C,C]: as many orthonormal directions as a layer has channels, the same in every
    process (seed 0), so that a painting's statistics match on resume and across levels.
    Heitz et al. draw new ones every step; fixed ones are what was judged."""
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((channels, channels)))
    return q.astype(np.float32)


def sorted_projections(features):
    """[N,H,W,C] activations -> [N,C,H*W]: each picture's features projected on the fixed
    directions, each direction's values sorted: the picture's distribution along it."""
    shape = ops.shape(features)
    flat = ops.reshape(ops.cast(features, "float32"), (shape[0], -1, shape[3]))
    projected = ops.matmul(flat, ops.convert_to_tensor(_directions(int(shape[3]))))
    return ops.sort(ops.transpose(projected, (0, 2, 1)), axis=-1)


def _resampled(sorted_values, positions: int):
    """[M,K,Q] sorted values -> [M,K,positions]: each distribution at `positions` evenly
    spaced quantiles, so that a painting of another size compares with the picture."""
    count = int(sorted_values.shape[-1])
    if count == positions:
        return sorted_values
    quantiles = ((np.arange(positions) + 0.5) * count / positions).astype(np.int32)
    return ops.take(sorted_values, quantiles, axis=2)


def style_statistic(features, distance: str = "gram"):
    """What the style loss keeps of a painting's [N,H,W,C] activations of one layer:
    its Gram matrices [N,C,C], or its sorted projections [N,C,H*W]."""
    return gram_matrix(features) if distance == "gram" else sorted_projections(features)


def stacked_statistics(statistics: list, distance: str = "gram"):
    """Several paintings' statistics of one layer as one [M,...] tensor; sorted
    projections of paintings of different sizes are resampled to the largest's count."""
    if distance != "gram":
        positions = max(int(s.shape[-1]) for s in statistics)
        statistics = [_resampled(s, positions) for s in statistics]
    return ops.concatenate(statistics, axis=0)


def sliced_wasserstein(features, target):
    """The squared 1-D Wasserstein distance along each direction between the picture's
    [N,H,W,C] features and the painting's sorted projections [1,C,Q], averaged, relative
    to the painting's mean squared feature: each layer's term is then about 0.1-0.6 from a
    photo to a painting, on every layer (unnormalised, 200 to 9e4)."""
    mine = sorted_projections(features)
    theirs = _resampled(target, int(mine.shape[-1]))
    # The directions are orthonormal: the projections' mean square is the features'.
    return ops.mean(ops.square(mine - theirs)) / ops.mean(ops.square(theirs))


def style_loss(generated: dict, targets: dict, layer_weights: dict, distance: str = "gram"):
    """Weighted sum over layers of the style distance: the MSE between Gram matrices, or
    the relative sliced Wasserstein distance.

    `targets` holds the painting's [1,...] statistics (style_statistic); they broadcast
    over the batch.
    """
    total = 0.0
    for layer, weight in layer_weights.items():
        if distance == "gram":
            term = ops.mean(ops.square(gram_matrix(generated[layer]) - targets[layer]))
        else:
            term = sliced_wasserstein(generated[layer], targets[layer])
        total = total + weight * term
    return total


def colour_moments(images):
    """[N,H,W,3] RGB in 0..255 -> [N,12]: each picture's mean colour and its 3x3 colour
    covariance divided by 255, so that both are in grey levels."""
    n = ops.shape(images)[0]
    flat = ops.reshape(images, (n, -1, 3))
    mean = ops.mean(flat, axis=1)
    centred = flat - mean[:, None, :]
    covariance = ops.matmul(ops.transpose(centred, (0, 2, 1)), centred) / ops.cast(
        ops.shape(flat)[1], flat.dtype)
    return ops.concatenate([mean, ops.reshape(covariance, (n, 9)) / 255.0], axis=1)


def colour_loss(images, target_moments):
    """MSE between the pictures' colour moments and the painting's ([1,12], broadcast).

    A Gram term of VGG features does not pin the palette down: a network trained on it
    painted The Scream in orange and black without the painting's blues at every style
    weight tried (docs/training.md); this term pulls the colours' mean and spread
    towards the painting's directly."""
    return ops.mean(ops.square(colour_moments(images) - target_moments))


def total_variation_loss(images):
    """Mean over the batch of sum |dx| + |dy| divided by H*W (images [N,H,W,C])."""
    dx = ops.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    dy = ops.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    shape = ops.shape(images)
    per_image = ops.sum(dx, axis=(1, 2, 3)) + ops.sum(dy, axis=(1, 2, 3))
    return ops.mean(per_image) / ops.cast(shape[1] * shape[2], images.dtype)
