"""What the training loss weighs: the VGG layers and the weight of each term.

A module of its own, without TensorFlow, so that the CLIs that take these settings
(`python -m training`, `training.gatys`, `training.yardstick`) answer `--help` and reject bad
values at once; training/model.py computes the loss.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# How the style loss compares the picture's VGG features with the painting's, layer by
# layer (training/losses.py): their Gram matrices (Gatys et al. 2015), or the distribution
# of their values along fixed directions (sliced Wasserstein, Heitz et al. 2021), which
# keeps more than the features' correlations: on the optimisation it drew Hokusai's
# clumped crests, which no Gram recipe has (docs/training.md, "Another style loss").
STYLE_DISTANCES = ("gram", "sliced-wasserstein")


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
    # One of STYLE_DISTANCES. A sliced-Wasserstein term is relative, 0.1-0.6 a layer from
    # a photo to a painting, so it wants other style weights than the Grams'.
    style_distance: str = "gram"
    # The style term once more with the picture and the painting both at half size, times
    # this: the same VGG layers then see shapes twice as large, as at Refine in HD's
    # coarse level, which paints larger crests and swirls. 0 = off.
    half_size_style_weight: float = 0.0
    # The mean and covariance of the picture's colours against the painting's, times this,
    # added to the style term: for a palette the Gram terms miss. 0 = off. Only for the
    # paintings of the Gram loss: the sliced Wasserstein distance matches the distribution
    # of block1's features, the colours with it, and its style weights (3e7 in a network
    # beside the Grams' 8) would make this term outweigh everything.
    colour_style_weight: float = 0.0
    # Off (the old default, 1e-5, was about 1e-9 of the loss and changed nothing).
    # Networks tuned whole need 500-3000 against the dot lattice of their upsamplings
    # (docs/training.md, "Tuning the whole network").
    tv_weight: float = 0.0
    # Only for a run with an identity condition: pixel MSE (0..255) of its output to the
    # photo; about the size of the other terms, so that condition learns to give the photo.
    identity_weight: float = 100.0
    # Only for a run with targets (training/targets.py): the weight of the refined pictures'
    # content, as a multiple of the content weight, added on a painting's steps with
    # targets (the photo's content keeps its own weight).
    target_weight: float = 1.0

    @property
    def vgg_layers(self) -> list[str]:
        return sorted({self.content_layer, *self.style_layers})
