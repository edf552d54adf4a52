"""The benchmark's own arithmetic: what it counts and how it times. Not its numbers."""
from bench.common import interleaved_timings
from bench.model_latency import count_flops
from training.transformer_net import PRESETS


def _conv_flops(preset: str, side: int) -> float:
    """Multiply-adds of the textbook network's convolutions, by hand: 2 * k*k*cin*cout per
    output pixel."""
    c1, c2, c3 = PRESETS[preset].channels
    blocks = PRESETS[preset].residual_blocks
    layers = [(9, 3, c1, side), (3, c1, c2, side // 2), (3, c2, c3, side // 4),
              *[(3, c3, c3, side // 4)] * (2 * blocks),
              (3, c3, c2, side // 2), (3, c2, c1, side), (9, c1, 3, side)]
    return sum(2 * k * k * cin * cout * s * s for k, cin, cout, s in layers)


def test_flops_are_counted_on_the_textbook_network():
    counted = count_flops("tiny", 32)
    by_hand = _conv_flops("tiny", 32)
    # The rest (norms, activations) is a few FLOPs per element. The shipped layers count
    # 14 % more here (space-to-depth convolutions multiply zeros), so they would fail.
    assert by_hand <= counted <= 1.05 * by_hand
    assert count_flops("tiny", 32, textbook=False) > 1.05 * by_hand


def test_interleaved_timings_take_turns():
    calls = []
    times = interleaved_timings({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                runs=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert {name: len(values) for name, values in times.items()} == {"a": 3, "b": 3}
