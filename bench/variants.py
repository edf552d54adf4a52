"""Inference variants of the default (`fast`) preset at 512 px, same run: fp32 (what we
ship: sub-pixel upsampling convolutions, output convolution on 2x2 space-to-depth blocks),
the same network in its textbook form, fp32 with XLA, and the reduced precisions `export
--precision` offers: bfloat16 (for CPUs with AVX512_BF16 or AMX) and float16 (for GPUs).
Time and the largest difference from fp32 in grey levels, so a faster variant cannot hide a
worse image."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.common import interleaved_timings, median_ms, save, table
from training.transformer_net import build_transformer

SIDE = 512


def _variants(preset: str) -> dict:
    fp32 = build_transformer(preset)
    models = {"textbook layers": build_transformer(preset, textbook=True),
              "bfloat16 (the AVX512_BF16 export)": build_transformer(
                  preset, dtype_policy="mixed_bfloat16"),
              "float16 (the GPU export)": build_transformer(preset, dtype_policy="mixed_float16")}
    for model in models.values():
        model.set_weights(fp32.get_weights())
    return {"fp32": tf.function(lambda x: fp32(x, training=False)),
            "fp32 + XLA": tf.function(lambda x: fp32(x, training=False), jit_compile=True),
            **{name: tf.function(lambda x, m=m: m(x, training=False))
               for name, m in models.items()}}


def run(runs: int = 10, preset: str = "fast") -> dict:
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, SIDE, SIDE, 3)), tf.float32)
    variants = _variants(preset)
    times = interleaved_timings({name: lambda f=fn: f(x).numpy() for name, fn in variants.items()},
                                runs)
    reference = variants["fp32"](x).numpy()
    results = [{"variant": name, "median_ms": median_ms(times[name]),
                "max_grey_level_diff": float(np.abs(
                    variants[name](x).numpy().astype(np.float32) - reference).max())}
               for name in variants]
    print(table(["variant (fast, 512 px)", "median ms", "max diff vs fp32"],
                [[r["variant"], r["median_ms"], r["max_grey_level_diff"]] for r in results]))
    print(f"wrote {save('variants', {'results': results})}")
    return {"results": results}
