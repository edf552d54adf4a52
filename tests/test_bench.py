"""The benchmark's own arithmetic: what it counts, how it times, what it records of the
machine. Not its numbers."""
import numpy as np
import pytest
import tensorflow as tf

from bench import common, model_latency
from bench.common import interleaved_timings
from bench.model_latency import count_flops
from serving.contract import INPUT_PIXELS, SIGNATURE_PIXELS
from training.presets import PRESETS


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


def test_model_latency_times_every_preset_against_one_peak_per_case(monkeypatch):
    def batch_of_two(side):
        inputs = {INPUT_PIXELS: tf.constant(np.zeros((2, side, side, 3), np.uint8))}
        return side, 2, SIGNATURE_PIXELS, inputs

    monkeypatch.setattr(model_latency, "BENCH_PRESETS", ["tiny", "fast"])
    monkeypatch.setattr(model_latency, "_cases", lambda: [batch_of_two(32), batch_of_two(48)])
    rows = model_latency._measure(runs=2, peak=lambda: None)

    assert [(r["preset"], r["side"]) for r in rows] == [
        ("tiny", 32), ("tiny", 48), ("fast", 32), ("fast", 48)]
    for side in (32, 48):
        assert len({r["peak_gflops"] for r in rows if r["side"] == side}) == 1
    for r in rows:
        assert r["gflop_per_image"] == count_flops(r["preset"], r["side"]) / 1e9
        assert r["gflops"] == pytest.approx(2 * r["gflop_per_image"] / (r["median_ms"] / 1000))


def test_machine_names_the_cpu_and_the_instruction_sets_that_matter(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpu = "model name\t: Some CPU\nflags\t\t: fpu avx2 avx512f avx512_bf16 sse4_2\n"
    cpuinfo.write_text(cpu + "\n" + cpu.replace("Some", "Second"))
    monkeypatch.setattr(common, "CPUINFO", cpuinfo)
    info = common.machine()
    assert info["cpu"] == "Some CPU"
    assert info["isa"] == ["avx2", "avx512f", "avx512_bf16"]


def test_multi_style_calls_paint_what_their_rows_say(monkeypatch, tmp_path):
    from bench import multi_style

    monkeypatch.setattr(multi_style, "SIDE", 32)
    monkeypatch.setattr(multi_style, "PREVIEW_SIDE", 24)
    calls = multi_style._calls(str(tmp_path))
    shapes = {name: [tuple(v.shape) for v in call().values()] for name, call in calls.items()}
    assert shapes["fast net, one painting"] == [(1, 32, 32, 3)]
    assert shapes["multi-style, mix + strength + colours"] == [(1, 32, 32, 3)]
    assert shapes["the same, bfloat16 (export --precision bfloat16)"] == [(1, 32, 32, 3)]
    assert list(shapes.values())[-1] == [(multi_style.PAINTINGS,)]  # one JPEG per painting


def test_the_peer_worker_paints_one_image_per_line(tmp_path):
    import sys

    from bench.multi_style import Peer

    worker = tmp_path / "worker.py"  # the protocol of bench/peer_worker.py, without the peer
    worker.write_text("import sys\nfor _ in sys.stdin:\n    print('ok', flush=True)\n")
    peer = Peer(str(worker), tmp_path / "photo.png", 32, python=sys.executable)
    peer()
    peer()
    peer.close()
    assert peer.process.returncode == 0
    broken = Peer(str(tmp_path / "none.py"), tmp_path / "photo.png", 32, python=sys.executable)
    with pytest.raises((RuntimeError, BrokenPipeError)):
        broken()
