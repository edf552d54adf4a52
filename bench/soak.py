"""`make soak`: publish + rollback cycles under a steady load, on the real local stack.

    python -m bench.soak --cycles 10 --rate 2

Each cycle publishes a new version of the `fast` preset's model with the rollout tool and
rolls it back, while an open-loop load (--rate uploads per second through the gateway)
runs the whole time. Reports the requests that failed (target: none) and the model
server's resident memory after each cycle: TF Serving users report growth on every
version swap (tensorflow/serving#1215, #2142); target: under 10 % after the first cycle.
"""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from serving import tf_env

tf_env.apply()


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def late_trend(rss: list[float]) -> float:
    """MB per cycle over the second half of the cycles (least squares): a high-water mark
    that the allocators reach in the first cycles reads ~0 here, a leak does not."""
    late = rss[len(rss) // 2:]
    if len(late) < 2:
        return 0.0
    xs = range(len(late))
    mx, my = (len(late) - 1) / 2, sum(late) / len(late)
    return sum((x - mx) * (y - my) for x, y in zip(xs, late, strict=True)) / sum((x - mx) ** 2 for x in xs)


def cycles(stack, count: int, source: Path) -> list[float]:
    """Runs `count` publish + rollback cycles; the server's RSS (MB) before and after each."""
    from bench.stack import MODEL
    from ops.rollout import main as rollout

    common = ["--model", MODEL, "--replicas", stack.grpc_target,
              "--config", str(stack.cfg.model_config_file)]
    rss = [resident_mb(stack.model_server_pid())]
    for i in range(count):
        for command in (["publish", "--from", str(source)], ["rollback"]):
            if rollout([*command, *common]) != 0:
                raise RuntimeError(f"cycle {i + 1}: rollout {command[0]} failed")
        rss.append(resident_mb(stack.model_server_pid()))
        print(f"cycle {i + 1}/{count}: model server {rss[-1]:.0f} MB", flush=True)
    return rss


def run(count: int, rate: float, side: int) -> dict:
    from bench.common import save
    from bench.stack import MODEL, local_stack
    from ops.load_targets import GatewayTarget, load_images
    from ops.loadtest import LoadConfig
    from ops.loadtest import run as run_load

    with local_stack() as stack:
        source = stack.cfg.model_config_file.parent / "repo" / MODEL / "1"
        target, images = GatewayTarget(stack.url, MODEL, side, 60), load_images(None, side)
        stop = threading.Event()
        result = {}

        def load():
            result["report"], _ = run_load(target, images, LoadConfig(rate=rate, duration=3600, warmup=0),
                                           show_progress=False, stop=stop)

        loader = threading.Thread(target=load)
        loader.start()
        try:
            rss = cycles(stack, count, source)
        finally:
            stop.set()
            loader.join()
    report = result["report"]
    growth, trend = rss[-1] / rss[1] - 1, late_trend(rss)
    print("\n".join(report.lines()))
    print(f"model server RSS MB: start {rss[0]:.0f}, after cycle 1 {rss[1]:.0f}, "
          f"after cycle {count} {rss[-1]:.0f}: growth after the first cycle {100 * growth:.1f} % "
          f"(target < 10 %); over the second half {trend:+.1f} MB per cycle")
    data = {"cycles": count, "rate": rate, "side": side, "rss_mb": rss,
            "growth_after_first_cycle": growth, "late_trend_mb_per_cycle": trend,
            "requests": report.requests, "ok": report.ok,
            "errors": report.errors, "outages": report.outages, "latency_ms": report.latency_ms}
    print(f"wrote {save('soak', data)}")
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.soak", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cycles", type=int, default=10, help="publish + rollback cycles (default %(default)s)")
    p.add_argument("--rate", type=float, default=2.0, help="uploads per second (default %(default)s)")
    p.add_argument("--size", type=int, default=256, help="long side of the photos (default %(default)s)")
    args = p.parse_args(argv)
    if args.cycles < 1 or args.rate <= 0 or args.size < 16:
        print("bench.soak: error: --cycles and --rate must be positive, --size at least 16",
              file=sys.stderr)
        return 2
    data = run(args.cycles, args.rate, args.size)
    return 0 if data["ok"] == data["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
