"""Inference variants of the default (`fast`) preset at 512 px, same run: fp32 (what we
ship), fp32 with XLA, and bfloat16 (Keras mixed_bfloat16). Time and the largest
difference from fp32 in grey levels, so a faster variant cannot hide a worse image."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from bench.common import median_ms, save, table
from training.transformer_net import build_transformer

SIDE = 512


def _variants(preset: str) -> dict:
    fp32 = build_transformer(preset)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        bf16 = build_transformer(preset)
        bf16.set_weights(fp32.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return {"fp32": tf.function(lambda x: fp32(x, training=False)),
            "fp32 + XLA": tf.function(lambda x: fp32(x, training=False), jit_compile=True),
            "bfloat16": tf.function(lambda x: bf16(x, training=False))}


def run(runs: int = 10, preset: str = "fast") -> dict:
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, SIDE, SIDE, 3)), tf.float32)
    variants = _variants(preset)
    times = {name: [] for name in variants}
    for fn in variants.values():
        fn(x)
        fn(x)
    for _ in range(runs):  # interleaved, so background load hits every variant alike
        for name, fn in variants.items():
            start = tf.timestamp()
            fn(x).numpy()
            times[name].append(float(tf.timestamp() - start))
    reference = variants["fp32"](x).numpy()
    results = [{"variant": name, "median_ms": median_ms(times[name]),
                "max_grey_level_diff": float(np.abs(
                    variants[name](x).numpy().astype(np.float32) - reference).max())}
               for name in variants]
    print(table(["variant (fast, 512 px)", "median ms", "max diff vs fp32"],
                [[r["variant"], r["median_ms"], r["max_grey_level_diff"]] for r in results]))
    print(f"wrote {save('variants', {'results': results})}")
    return {"results": results}
