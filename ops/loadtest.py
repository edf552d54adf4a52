"""`loadtest`: measure the gateway (HTTP uploads) or the model server (gRPC Predict).

    loadtest --gateway http://127.0.0.1:8080 --style starry_night --concurrency 4
    loadtest --grpc 127.0.0.1:8500 --model starry_night --rate 2 --duration 30

Closed loop (--concurrency N clients, each sending as soon as it got its answer) or open
loop (--rate R requests/s whatever the latency). A warm-up phase is sent first and left
out of the numbers. It always stops by itself (--duration or --requests), and only
targets loopback addresses unless --allow-remote is given.

When the target is down (connection refused, UNAVAILABLE, HTTP 503 or 429) a closed-loop
client backs off (50 ms doubling to 1 s) instead of spinning, and the report shows each
outage as a window of time: from the first failed request to the first one that succeeded
again.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from ops.load_targets import GatewayTarget, GrpcTarget, LoadError, load_images

MAX_REQUESTS = 100_000
MAX_DURATION = 3600.0
# Failures that say "not now": a client that retries at once only floods the target.
BACK_OFF_ON = {"connection refused", "UNAVAILABLE", "HTTP 503", "HTTP 429"}
MIN_BACKOFF, MAX_BACKOFF = 0.05, 1.0


@dataclass(frozen=True)
class LoadConfig:
    concurrency: int = 1
    rate: float | None = None
    duration: float = 10.0
    requests: int | None = None
    warmup: float = 2.0


@dataclass
class Sample:
    start: float
    latency: float
    error: str | None


@dataclass
class Report:
    target: str
    mode: str
    requests: int
    ok: int
    errors: dict[str, int]
    duration_s: float
    throughput_rps: float
    latency_ms: dict[str, float]
    # [{"start_s", "end_s", "failed"}]: seconds from the start of measuring.
    outages: list[dict] = field(default_factory=list)

    def lines(self) -> list[str]:
        lat = self.latency_ms
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        down = sum(o["end_s"] - o["start_s"] for o in self.outages)
        outages = "; ".join(f"{o['start_s']:.1f}-{o['end_s']:.1f} s ({o['failed']} failed)"
                            for o in self.outages)
        return [f"target      {self.target} ({self.mode})",
                f"requests    {self.requests} in {self.duration_s:.1f} s, {self.ok} ok",
                f"throughput  {self.throughput_rps:.2f} requests/s",
                "latency ms  " + "  ".join(f"{k} {v:.0f}" for k, v in lat.items()),
                f"errors      {errors}",
                f"outages     {len(self.outages)}, {down:.1f} s in all" + (f": {outages}" if outages else "")]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def outage_windows(samples: list[Sample], t0: float) -> list[dict]:
    """Runs of failed requests, each from its first failure to the start of the request
    that succeeded next (or the last failure's end, if none did)."""
    windows, current = [], None
    for s in sorted(samples, key=lambda s: s.start):
        if s.error:
            if current is None:
                current = {"start_s": s.start - t0, "end_s": s.start - t0, "failed": 0}
            current["end_s"] = max(current["end_s"], s.start + s.latency - t0)
            current["failed"] += 1
        elif current is not None:
            current["end_s"] = s.start - t0
            windows.append(current)
            current = None
    return windows + ([current] if current else [])


def summarize(samples: list[Sample], target: str, mode: str, duration: float,
              t0: float | None = None) -> Report:
    ok = sorted(s.latency * 1000 for s in samples if s.error is None)
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    latency = {f"p{q}": percentile(ok, q) for q in (50, 90, 95, 99)}
    latency["max"] = ok[-1] if ok else float("nan")
    t0 = min((s.start for s in samples), default=0.0) if t0 is None else t0
    return Report(target, mode, len(samples), len(ok), errors, duration,
                  len(ok) / duration if duration > 0 else 0.0, latency,
                  outage_windows(samples, t0))


class Recorder:
    """Thread-safe sample list with a live progress line on stderr."""

    def __init__(self, show_progress: bool):
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.show_progress = show_progress
        self.measuring_since: float | None = None

    def add(self, sample: Sample) -> None:
        with self.lock:
            if self.measuring_since is not None and sample.start >= self.measuring_since:
                self.samples.append(sample)

    def progress(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            if not self.show_progress or self.measuring_since is None:
                continue
            with self.lock:
                done = list(self.samples)
            elapsed = time.monotonic() - self.measuring_since
            errors = sum(1 for s in done if s.error)
            last = sorted(s.latency * 1000 for s in done[-50:] if not s.error)
            print(f"\r{elapsed:6.1f} s  {len(done):6d} requests  {len(done) / max(elapsed, 1e-9):6.2f}/s"
                  f"  recent p50 {percentile(last, 50):6.0f} ms  errors {errors}",
                  end="", file=sys.stderr, flush=True)


def _timed(target, image: bytes, recorder: Recorder) -> str | None:
    start = time.monotonic()
    error = None
    try:
        target.send(image)
    except LoadError as e:
        error = e.kind
    recorder.add(Sample(start, time.monotonic() - start, error))
    return error


def run(target, images: list[bytes], cfg: LoadConfig, show_progress: bool = True,
        stop: threading.Event | None = None) -> tuple[Report, list[Sample]]:
    """Sends load until cfg.duration or cfg.requests is reached, or `stop` is set."""
    stop = stop or threading.Event()
    recorder = Recorder(show_progress)
    stop_progress = threading.Event()
    threading.Thread(target=recorder.progress, args=(stop_progress,), daemon=True).start()
    start = time.monotonic()
    recorder.measuring_since = start + cfg.warmup
    end = recorder.measuring_since + min(cfg.duration, MAX_DURATION)
    budget = min(cfg.requests or MAX_REQUESTS, MAX_REQUESTS)
    counter = iter(range(10**9))
    lock = threading.Lock()

    def next_index() -> int | None:
        with lock:
            i = next(counter)
        measured = len(recorder.samples)
        if time.monotonic() >= end or measured >= budget or stop.is_set():
            return None
        return i

    if cfg.rate:
        with ThreadPoolExecutor(max_workers=max(cfg.concurrency, 64)) as pool:
            while (i := next_index()) is not None:
                pool.submit(_timed, target, images[i % len(images)], recorder)
                time.sleep(1.0 / cfg.rate)
    else:
        def client():
            backoff = 0.0
            while (i := next_index()) is not None:
                if _timed(target, images[i % len(images)], recorder) in BACK_OFF_ON:
                    backoff = min(max(backoff * 2, MIN_BACKOFF), MAX_BACKOFF)
                    time.sleep(max(min(backoff, end - time.monotonic()), 0))
                else:
                    backoff = 0.0

        workers = [threading.Thread(target=client, daemon=True) for _ in range(cfg.concurrency)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    stop_progress.set()
    if show_progress:
        print(file=sys.stderr)
    mode = f"rate {cfg.rate}/s" if cfg.rate else f"concurrency {cfg.concurrency}"
    elapsed = min(time.monotonic(), end) - recorder.measuring_since
    samples = recorder.samples[:budget]
    return summarize(samples, target.name, mode, max(elapsed, 1e-9), recorder.measuring_since), samples


def plot(samples: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min((s.start for s in samples), default=0)
    ok = [(s.start - t0, s.latency * 1000) for s in samples if not s.error]
    bad = [(s.start - t0, s.latency * 1000) for s in samples if s.error]
    fig, (over_time, histogram) = plt.subplots(1, 2, figsize=(11, 4))
    if ok:
        over_time.scatter(*zip(*ok, strict=True), s=6, label="ok")
        histogram.hist([latency for _, latency in ok], bins=40)
    if bad:
        over_time.scatter(*zip(*bad, strict=True), s=10, color="red", label="error")
    over_time.set(xlabel="time (s)", ylabel="latency (ms)", title="latency over time")
    over_time.legend()
    histogram.set(xlabel="latency (ms)", ylabel="requests", title="latency distribution")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check_loopback(host: str, allow_remote: bool) -> None:
    """Refuses non-loopback targets unless allowed: a load test is never aimed by accident."""
    if allow_remote:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        raise LoadError("config", f"cannot resolve {host}: {e}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise LoadError("config", f"{host} is not a loopback address; pass --allow-remote to "
                        "load-test another machine")


def build_parser() -> argparse.ArgumentParser:
    d = LoadConfig()
    p = argparse.ArgumentParser(prog="loadtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--gateway", help="gateway base URL (POST /api/v1/stylize)")
    target.add_argument("--grpc", help="model server host:port (gRPC Predict)")
    p.add_argument("--style", "--model", dest="style", required=True, help="style / model name")
    p.add_argument("--label", default=None, help="version label for gRPC requests")
    p.add_argument("--live", action="store_true",
                   help="send live camera frames (POST /api/v1/frames) instead of photos: "
                        "with --size 320, each client of --concurrency is one live viewer")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--concurrency", type=int, default=d.concurrency,
                      help="closed loop: clients sending back to back (default %(default)s)")
    load.add_argument("--rate", type=float, default=None, help="open loop: requests per second")
    p.add_argument("--duration", type=float, default=d.duration,
                   help="seconds to measure (default %(default)s, at most 3600)")
    p.add_argument("--requests", type=int, default=None, help="stop after this many requests")
    p.add_argument("--warmup", type=float, default=d.warmup,
                   help="seconds of load before measuring (default %(default)s)")
    p.add_argument("--images", type=Path, default=None, help="folder of photos to send")
    p.add_argument("--size", type=int, default=512,
                   help="long side of the photos sent (default %(default)s)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request deadline in seconds")
    p.add_argument("--json", type=Path, default=None, help="write the report as JSON")
    p.add_argument("--plot", type=Path, default=None, help="write a latency plot (PNG)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a target that is not on this machine")
    p.add_argument("--quiet", action="store_true", help="no live progress line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.live and not args.gateway:
        print("loadtest: error: --live sends frames to the gateway: give --gateway",
              file=sys.stderr)
        return 2
    if args.concurrency < 1 or (args.rate is not None and args.rate <= 0) \
            or args.duration <= 0 or args.warmup < 0 or (args.requests is not None and args.requests < 1):
        print("loadtest: error: --concurrency, --rate, --duration and --requests must be positive",
              file=sys.stderr)
        return 2
    try:
        if args.gateway:
            check_loopback(urlparse(args.gateway).hostname or "", args.allow_remote)
            target = GatewayTarget(args.gateway, args.style, args.size, args.timeout,
                                   "frames" if args.live else "stylize")
        else:
            check_loopback(args.grpc.rsplit(":", 1)[0].strip("[]"), args.allow_remote)
            target = GrpcTarget(args.grpc, args.style, args.label, args.timeout)
        images = load_images(args.images, args.size)
    except LoadError as e:
        print(f"loadtest: error: {e}", file=sys.stderr)
        return 2
    cfg = LoadConfig(args.concurrency, args.rate, args.duration, args.requests, args.warmup)
    report, samples = run(target, images, cfg, show_progress=not args.quiet)
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    if args.plot:
        plot(samples, args.plot, f"{report.target} ({report.mode})")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
