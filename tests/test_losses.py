"""The sliced-Wasserstein style distance (training/losses.py): it compares what features a
picture has, not where, across picture sizes, relative to the painting's."""
import numpy as np
import pytest


def _features(seed: int, shape=(1, 6, 8, 5)) -> np.ndarray:
    return np.random.default_rng(seed).normal(1.0, 2.0, shape).astype(np.float32)


def _distance(features, painting) -> float:
    from training.losses import sliced_wasserstein, sorted_projections

    return float(sliced_wasserstein(features, sorted_projections(painting)))


def test_the_distance_ignores_where_the_features_are_but_not_what_they_are():
    painting = _features(0)
    shuffled = np.random.default_rng(1).permutation(painting.reshape(48, 5)).reshape(painting.shape)
    assert _distance(shuffled, painting) == pytest.approx(0, abs=1e-6)
    assert _distance(painting * 1.5, painting) > 0.05
    # Relative to the painting's mean squared feature: nothing at all is a distance of 1.
    assert _distance(np.zeros_like(painting), painting) == pytest.approx(1, rel=1e-5)


def test_a_painting_of_another_size_compares_by_its_quantiles():
    """A painting twice as large, each feature repeated 2x2, has the same distribution."""
    painting = _features(2)
    larger = painting.repeat(2, axis=1).repeat(2, axis=2)
    assert _distance(painting, larger) == pytest.approx(0, abs=1e-6)
    assert _distance(larger, painting) == pytest.approx(0, abs=1e-6)


def test_paintings_of_different_sizes_stack_at_the_largests_count():
    from training.losses import stacked_statistics, style_statistic

    small, large = _features(3), _features(4, (1, 12, 16, 5))
    stacked = stacked_statistics([style_statistic(p, "sliced-wasserstein") for p in (small, large)],
                                 "sliced-wasserstein")
    assert tuple(stacked.shape) == (2, 5, 192)
    assert np.all(np.diff(np.asarray(stacked), axis=-1) >= 0)  # each direction still sorted
    grams = stacked_statistics([style_statistic(p) for p in (small, large)])
    assert tuple(grams.shape) == (2, 5, 5)


def test_the_style_loss_weighs_each_layers_distance():
    from training.losses import sliced_wasserstein, sorted_projections, style_loss

    painted = {"a": _features(5), "b": _features(6, (1, 3, 4, 7))}
    picture = {"a": _features(7), "b": _features(8, (1, 3, 4, 7))}
    targets = {layer: sorted_projections(f) for layer, f in painted.items()}
    total = style_loss(picture, targets, {"a": 2.0, "b": 0.5}, "sliced-wasserstein")
    expected = sum(w * float(sliced_wasserstein(picture[layer], targets[layer]))
                   for layer, w in (("a", 2.0), ("b", 0.5)))
    assert float(total) == pytest.approx(expected, rel=1e-5)
