"""Gateway overhead: POST /api/v1/stylize vs a direct gRPC Predict of the same 512 px
image, and throughput through the gateway with 1, 2 and 4 concurrent clients."""
from __future__ import annotations

from bench.common import interleaved_timings, median_ms, p99_ms, save, table
from bench.stack import MODEL, local_stack
from ops.load_targets import GatewayTarget, GrpcTarget, load_images
from ops.loadtest import LoadConfig
from ops.loadtest import run as run_load

SIDE = 512


def overhead(grpc_target: str, url: str, runs: int) -> dict:
    image = load_images(None, SIDE)[0]
    targets = {"direct": GrpcTarget(grpc_target, MODEL, None, 60),
               "gateway": GatewayTarget(url, MODEL, SIDE, 60)}
    times = interleaved_timings({path: lambda t=t: t.send(image) for path, t in targets.items()},
                                runs)
    result = {f"{path}_{name}": stat(times[path]) for path in targets
              for name, stat in (("median_ms", median_ms), ("p99_ms", p99_ms))}
    result["overhead"] = result["gateway_median_ms"] / result["direct_median_ms"] - 1
    return result


def throughput(grpc_target: str, url: str, seconds: float) -> list[dict]:
    """Closed-loop throughput with 1, 2 and 4 clients, straight at gRPC and via the gateway."""
    images = load_images(None, SIDE)
    targets = {"direct gRPC": GrpcTarget(grpc_target, MODEL, None, 60),
               "gateway": GatewayTarget(url, MODEL, SIDE, 60)}
    out = []
    for path, target in targets.items():
        for clients in (1, 2, 4):
            report, _ = run_load(target, images, LoadConfig(concurrency=clients, duration=seconds,
                                                            warmup=2), show_progress=False)
            out.append({"path": path, "clients": clients, "throughput_rps": report.throughput_rps,
                        **report.latency_ms, "errors": report.errors})
    return out


def run(runs: int = 20, seconds: float = 15) -> dict:
    with local_stack() as stack:
        o = overhead(stack.grpc_target, stack.url, runs)
        t = throughput(stack.grpc_target, stack.url, seconds)
    print(table(["path (512 px, fast preset)", "median ms", "p99 ms"], [
        ["direct gRPC Predict", o["direct_median_ms"], o["direct_p99_ms"]],
        ["gateway POST /api/v1/stylize", o["gateway_median_ms"], o["gateway_p99_ms"]]]))
    print(f"gateway overhead: {100 * o['overhead']:.1f} % of model time (target <= 10 %)")
    print(table(["path", "clients", "requests/s", "p50 ms", "p99 ms"],
                [[r["path"], r["clients"], r["throughput_rps"], r["p50"], r["p99"]] for r in t]))
    data = {"overhead": o, "throughput": t}
    print(f"wrote {save('end_to_end', data)}")
    return data
