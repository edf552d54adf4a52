"""What the benchmarks share: timing, result files, a machine description."""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CPUINFO = Path("/proc/cpuinfo")


def interleaved_timings(fns: dict, runs: int = 10, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds per call of each named function, called in turn, so that background load
    and caches warming up hit every one of them alike: what a ratio between them needs."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - start)
    return out


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p99_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000


# The instruction sets that decide which kernels and precisions pay off on a CPU: oneDNN
# and bfloat16 (docs/benchmarks.md).
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def machine() -> dict:
    cpuinfo = {}
    try:
        for line in CPUINFO.read_text().splitlines():
            key, _, value = line.partition(":")
            cpuinfo.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = cpuinfo.get("flags", "").split()
    return {"cpu": cpuinfo.get("model name", platform.processor()), "cores": os.cpu_count(),
            "isa": [flag for flag in ISA_FLAGS if flag in flags],
            "python": platform.python_version(), "tensorflow": version("tensorflow")}


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    return path


def table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
