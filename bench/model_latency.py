"""Model latency per preset and size through the exported SavedModel, FLOPs per image,
achieved GFLOP/s, and this machine's measured 3x3-convolution peak.

For each size the presets and the peak are timed in turn, not one after the other: this
shared VM's speed drifts by 10-30 % within minutes, and a ratio of two numbers taken
minutes apart would carry that drift."""
from __future__ import annotations

import functools
import tempfile

import numpy as np
import tensorflow as tf

from bench.common import interleaved_timings, median_ms, save, table
from export.stylizer import Stylizer
from serving.contract import INPUT_IMAGES, INPUT_PIXELS, SIGNATURE_ENCODED, SIGNATURE_PIXELS
from serving.samples import sample_jpeg
from training.presets import PRESETS
from training.transformer_net import build_transformer

SIDES = (256, 512, 1024)
BENCH_PRESETS = [p for p in PRESETS if p != "tiny"]


@functools.cache  # batch 1 and batch 4 at 512 px need the same count
def count_flops(preset: str, side: int, textbook: bool = True) -> float:
    """FLOPs of one side x side image's forward pass, counted by TF's graph profiler.

    GFLOP/s use the textbook network's count: the work the network defines. The shipped
    layers execute a different count (reported too): their space-to-depth convolutions
    multiply some zeros, their sub-pixel ones skip the duplicated upsampled pixels.
    Counted on a batch of two: the profiler has no count for the fused batch-norm kernel
    that runs instance norm for a batch of one."""
    model = build_transformer(preset, textbook=textbook)
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([2, side, side, 3], tf.float32)).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops) / 2


PEAK_FLOPS = 2 * 3 * 3 * 128 * 128 * 128 * 128


def peak_conv():
    """A call of a large, well-shaped 3x3 convolution (PEAK_FLOPS): what this CPU can do at
    best."""
    x = tf.random.uniform([1, 128, 128, 128])
    w = tf.random.uniform([3, 3, 128, 128])
    conv = tf.function(lambda: tf.nn.conv2d(x, w, 1, "SAME"))
    return lambda: conv().numpy()


def export_preset(preset: str, directory: str, dtype_policy: str = "float32"):
    stylizer = Stylizer(build_transformer(preset, dtype_policy=dtype_policy))
    tf.saved_model.save(stylizer, directory, signatures=stylizer.signatures())
    return tf.saved_model.load(directory)


def _cases() -> list[tuple[int, int, str, dict]]:
    """(side, batch, signature, inputs): batch 1 at every side through serving_default
    (JPEG in and out), and batch 4 at 512 px through stylize_pixels."""
    cases = [(side, 1, SIGNATURE_ENCODED, {INPUT_IMAGES: tf.constant([sample_jpeg(side)])})
             for side in SIDES]
    batch = np.random.default_rng(0).integers(0, 255, (4, 512, 512, 3), dtype=np.uint8)
    return cases + [(512, 4, SIGNATURE_PIXELS, {INPUT_PIXELS: tf.constant(batch)})]


def _measure(runs: int, peak) -> list[dict]:
    """Every preset and the peak timed in turn for each case, so that the ratios between
    presets, like those to the peak, compare calls made under the same machine load."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        loaded = {preset: export_preset(preset, f"{tmp}/{preset}") for preset in BENCH_PRESETS}
        for side, batch_size, signature, inputs in _cases():
            calls = {preset: lambda s=model.signatures[signature], i=inputs: s(**i)
                     for preset, model in loaded.items()}
            times = interleaved_timings({**calls, "peak": peak}, runs)
            peak_gflops = PEAK_FLOPS / (median_ms(times["peak"]) / 1000) / 1e9
            for preset in loaded:
                ms = median_ms(times[preset])
                flops = batch_size * count_flops(preset, side)
                results.append({"preset": preset, "side": side, "batch": batch_size,
                                "median_ms": ms, "gflop_per_image": flops / batch_size / 1e9,
                                "executed_gflop_per_image": count_flops(preset, side, False) / 1e9,
                                "gflops": flops / (ms / 1000) / 1e9, "peak_gflops": peak_gflops})
    return sorted(results, key=lambda r: BENCH_PRESETS.index(r["preset"]))


def run(runs: int = 10) -> dict:
    peak = peak_conv()
    results = _measure(runs, peak)
    rows = [[r["preset"], r["side"], r["batch"], r["median_ms"], r["gflop_per_image"],
             r["gflops"], r["peak_gflops"], r["gflops"] / r["peak_gflops"],
             r["executed_gflop_per_image"]] for r in results]
    print("presets and the peak (a 3x3 convolution 128 -> 128 channels at 128 x 128) timed in turn")
    print(table(["preset", "px", "batch", "median ms", "GFLOP/img", "GFLOP/s", "peak GFLOP/s",
                 "of peak", "executed GFLOP/img"], rows))
    by = {(r["preset"], r["side"], r["batch"]): r["median_ms"] for r in results}
    ratio = by[("fast", 512, 1)] / by[("johnson", 512, 1)]
    print(f"fast / johnson time at 512 px: {ratio:.2f} (target <= 0.4)")
    data = {"results": results, "fast_over_johnson_512": ratio}
    print(f"wrote {save('model_latency', data)}")
    return data
