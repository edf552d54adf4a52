"""The TensorFlow settings of every process that serves a model: the model servers (ours
here, TF Serving's container in k8s/base/model-server.yaml), export and the benchmarks.
Training leaves them alone: it gained nothing from the allocator (docs/benchmarks.md).
TensorFlow reads them from the environment when it first needs them, so `apply()` must
run before the first tensor is made; what the caller's environment already sets wins."""
from __future__ import annotations

import os
from pathlib import Path

TF_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # TensorFlow's default CPU allocator hands buffers above its pool's size back to the
    # OS, so each large activation is fresh memory the kernel has to fault in and zero:
    # about 16,800 page faults per 512 px image, 10-15 % of the `fast` model's time on
    # the 2-vCPU machine of docs/benchmarks.md. The BFC allocator keeps and reuses them.
    "TF_CPU_ALLOCATOR_USE_BFC": "true",
}


def apply() -> None:
    for name, value in TF_ENV.items():
        os.environ.setdefault(name, value)


def cpu_has_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX): then a bfloat16
    model is the faster one here; elsewhere it is emulated and slower than float32."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines()
                      if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def local_precision(choice: str) -> str:
    """`auto`: bfloat16 where this CPU computes it natively, else float32 (the faster of
    the precisions that stay within a few grey levels); any other choice as it is."""
    if choice != "auto":
        return choice
    return "bfloat16" if cpu_has_bfloat16() else "float32"
