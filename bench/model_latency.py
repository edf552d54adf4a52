"""Model latency per preset and size through the exported SavedModel, FLOPs per image,
achieved GFLOP/s, and this machine's measured 3x3-convolution peak.

The peak is timed in turn with each model call, not once per run: this shared VM's speed
drifts by 10 % within minutes, and a ratio of two numbers taken minutes apart would
carry that drift."""
from __future__ import annotations

import functools
import tempfile

import numpy as np
import tensorflow as tf

from bench.common import interleaved_timings, median_ms, save, table
from export.stylizer import Stylizer
from export.warmup import sample_jpeg
from serving.contract import INPUT_IMAGES, INPUT_PIXELS, SIGNATURE_ENCODED, SIGNATURE_PIXELS
from training.transformer_net import PRESETS, build_transformer

SIDES = (256, 512, 1024)
BENCH_PRESETS = [p for p in PRESETS if p != "tiny"]


@functools.cache  # batch 1 and batch 4 at 512 px need the same count
def count_flops(preset: str, side: int, textbook: bool = True) -> float:
    """FLOPs of one [1, side, side, 3] forward pass, counted by TF's graph profiler.

    GFLOP/s use the textbook network's count: the work the network defines. The shipped
    layers execute a different count (reported too): their space-to-depth convolutions
    multiply some zeros, their sub-pixel ones skip the duplicated upsampled pixels."""
    model = build_transformer(preset, textbook=textbook)
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([1, side, side, 3], tf.float32)).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


PEAK_FLOPS = 2 * 3 * 3 * 128 * 128 * 128 * 128


def peak_conv():
    """A call of a large, well-shaped 3x3 convolution (PEAK_FLOPS): what this CPU can do at
    best."""
    x = tf.random.uniform([1, 128, 128, 128])
    w = tf.random.uniform([3, 3, 128, 128])
    conv = tf.function(lambda: tf.nn.conv2d(x, w, 1, "SAME"))
    return lambda: conv().numpy()


def export_preset(preset: str, directory: str):
    stylizer = Stylizer(build_transformer(preset))
    tf.saved_model.save(stylizer, directory, signatures=stylizer.signatures())
    return tf.saved_model.load(directory)


def _measure(preset: str, runs: int, peak) -> list[dict]:
    """batch 1 at every side through serving_default, and batch 4 at 512 px (pixels)."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        loaded = export_preset(preset, tmp)
        encoded = loaded.signatures[SIGNATURE_ENCODED]
        pixels = loaded.signatures[SIGNATURE_PIXELS]
        cases = [(side, 1, {INPUT_IMAGES: tf.constant([sample_jpeg(side)])}, encoded)
                 for side in SIDES]
        batch = np.random.default_rng(0).integers(0, 255, (4, 512, 512, 3), dtype=np.uint8)
        cases.append((512, 4, {INPUT_PIXELS: tf.constant(batch)}, pixels))
        for side, batch_size, inputs, signature in cases:
            times = interleaved_timings(
                {"model": lambda s=signature, i=inputs: s(**i), "peak": peak}, runs)
            ms = median_ms(times["model"])
            flops = batch_size * count_flops(preset, side)
            results.append({"preset": preset, "side": side, "batch": batch_size, "median_ms": ms,
                            "gflop_per_image": flops / batch_size / 1e9,
                            "executed_gflop_per_image": count_flops(preset, side, False) / 1e9,
                            "gflops": flops / (ms / 1000) / 1e9,
                            "peak_gflops": PEAK_FLOPS / (median_ms(times["peak"]) / 1000) / 1e9})
    return results


def run(runs: int = 10) -> dict:
    peak = peak_conv()
    results = [r for preset in BENCH_PRESETS for r in _measure(preset, runs, peak)]
    rows = [[r["preset"], r["side"], r["batch"], r["median_ms"], r["gflop_per_image"],
             r["gflops"], r["peak_gflops"], r["gflops"] / r["peak_gflops"],
             r["executed_gflop_per_image"]] for r in results]
    print("peak: a 3x3 convolution 128 -> 128 channels at 128 x 128, timed in turn with the model")
    print(table(["preset", "px", "batch", "median ms", "GFLOP/img", "GFLOP/s", "peak GFLOP/s",
                 "of peak", "executed GFLOP/img"], rows))
    by = {(r["preset"], r["side"], r["batch"]): r["median_ms"] for r in results}
    ratio = by[("fast", 512, 1)] / by[("johnson", 512, 1)]
    print(f"fast / johnson time at 512 px: {ratio:.2f} (target <= 0.4)")
    data = {"results": results, "fast_over_johnson_512": ratio}
    print(f"wrote {save('model_latency', data)}")
    return data
