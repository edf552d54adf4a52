"""The two load generators against the same local stack, in turn, with the same load:
`loadtest` (ours: closed or open loop, one machine) and Locust (ops/locustfiles/gateway.py,
headless), each CLIENTS users sending 512 px photos back to back to the gateway for
SECONDS. Same stack, same photos, same concurrency: their numbers should agree; where they
differ, it is the tool."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import save, table
from bench.stack import MODEL, local_stack
from ops.load_targets import GatewayTarget, load_images
from ops.loadtest import LoadConfig
from ops.loadtest import run as run_load

CLIENTS, SECONDS, SIDE = 2, 20, 512
LOCUST = Path(sys.executable).parent / "locust"


def with_loadtest(url: str) -> dict:
    report, _ = run_load(GatewayTarget(url, MODEL, SIDE, 60), load_images(None, SIDE),
                         LoadConfig(concurrency=CLIENTS, duration=SECONDS, warmup=2),
                         show_progress=False)
    return {"requests": report.requests, "failures": report.requests - report.ok,
            "rps": report.throughput_rps, "p50_ms": report.latency_ms["p50"],
            "p95_ms": report.latency_ms["p95"], "p99_ms": report.latency_ms["p99"]}


def with_locust(url: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(LOCUST), "-f", "ops/locustfiles/gateway.py", "--host", url,
                        "--headless", "--users", str(CLIENTS), "--spawn-rate", str(CLIENTS),
                        "--run-time", f"{SECONDS}s", "--csv", f"{tmp}/run", "--only-summary"],
                       check=True, capture_output=True, cwd=Path(__file__).parent.parent,
                       env={**os.environ, "STYLE": MODEL, "SIZE": str(SIDE)})
        with open(f"{tmp}/run_stats.csv") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"])}


def run() -> dict:
    if not LOCUST.exists():
        print(f"(no {LOCUST}: `make install` installs Locust with the dev tools)")
        return {}
    with local_stack() as stack:
        data = {"loadtest": with_loadtest(stack.url)}
        print("  loadtest done", flush=True)
        data["locust"] = with_locust(stack.url)
    print(table([f"{CLIENTS} clients, {SECONDS} s, {SIDE} px", "requests", "failed", "req/s",
                 "p50 ms", "p95 ms", "p99 ms"],
                [[tool, r["requests"], r["failures"], r["rps"], r["p50_ms"], r["p95_ms"],
                  r["p99_ms"]] for tool, r in data.items()]))
    print(f"wrote {save('load_tools', data)}")
    return data
