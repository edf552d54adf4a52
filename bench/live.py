"""Live mode: what a viewer of the page sees, and how many viewers one replica carries.

1. The page in Chromium with its fake camera (640x480; frames sent at 320x240) against the
   local stack (gunicorn gateway, model server; the model in the precision `make models`
   picks on this CPU): frames per second and capture-to-display latency, read each second
   from the page's own readout (data-fps, data-latency of #live-painting).
2. The transport: a frame's round trip through the gateway (HTTP, keep-alive) against a
   direct gRPC Predict of the same frame, which is all any transport could save.
3. Capacity: N frames in flight at once (N viewers with one each; one viewer pipelining
   two is N = 2 too), closed loop: frames per second per stream and latency. A replica
   carries the largest N whose streams each keep >= 15 fps."""
from __future__ import annotations

import shutil
import statistics
import time

from bench.common import interleaved_timings, median_ms, save, table
from bench.stack import MODEL, local_stack
from ops.load_targets import GatewayTarget, GrpcTarget
from ops.loadtest import LoadConfig
from ops.loadtest import run as run_load
from serving.samples import sample_jpeg
from serving.tf_env import local_precision

WIDTH, HEIGHT, GOAL_FPS, GOAL_LATENCY_MS = 320, 240, 15, 150
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream"]


def in_chromium(url: str, warmup: float = 5, seconds: float = 15) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector('.style[aria-checked="true"]')
        page.click("#live-start")
        time.sleep(warmup)
        samples, start = [], time.monotonic()
        while time.monotonic() - start < seconds:
            time.sleep(1)
            data = page.evaluate("({...document.getElementById('live-painting').dataset})")
            samples.append((float(data.get("fps", 0)), float(data.get("latency", 0))))
        frames = int(page.get_attribute("#live-painting", "data-frames") or 0)
        page.click("#live-stop")
        browser.close()
    return {"fps": statistics.median(s[0] for s in samples),
            "latency_ms": statistics.median(s[1] for s in samples), "frames": frames}


def transport(grpc_target: str, url: str, runs: int = 40) -> dict:
    frame = sample_jpeg(WIDTH, height=HEIGHT)
    calls = {"direct gRPC Predict": GrpcTarget(grpc_target, MODEL, None, 10),
             "gateway POST /api/v1/frames": GatewayTarget(url, MODEL, WIDTH, 10, "frames")}
    times = interleaved_timings({name: lambda t=t: t.send(frame) for name, t in calls.items()},
                                runs)
    return {name: median_ms(t) for name, t in times.items()}


def capacity(url: str, seconds: float = 10) -> list[dict]:
    target = GatewayTarget(url, MODEL, WIDTH, 10, "frames")
    frames = [sample_jpeg(WIDTH, seed, HEIGHT) for seed in range(4)]
    rows = []
    for streams in (1, 2, 3, 4):
        report, _ = run_load(target, frames, LoadConfig(concurrency=streams, duration=seconds,
                                                        warmup=2), show_progress=False)
        rows.append({"in_flight": streams, "fps_per_stream": report.throughput_rps / streams,
                     "total_fps": report.throughput_rps, "p50_ms": report.latency_ms["p50"],
                     "p99_ms": report.latency_ms["p99"], "errors": report.errors})
        print(f"  {streams} in flight: {rows[-1]['fps_per_stream']:.1f} fps each", flush=True)
    print(table(["frames in flight", "fps each", "fps in all", "p50 ms", "p99 ms"],
                [[r["in_flight"], r["fps_per_stream"], r["total_fps"], r["p50_ms"], r["p99_ms"]]
                 for r in rows]))
    return rows


def run() -> dict:
    precision = local_precision("auto")
    data: dict = {"precision": precision, "frame": f"{WIDTH}x{HEIGHT}"}
    with local_stack(precision=precision) as stack:
        print(f"(the fast preset in {precision}, frames {WIDTH}x{HEIGHT})")
        if CHROMIUM:
            data["chromium"] = page = in_chromium(stack.url)
            print(f"Chromium, fake camera: {page['fps']:.1f} fps, {page['latency_ms']:.0f} ms "
                  f"capture to display (goal >= {GOAL_FPS} fps, < {GOAL_LATENCY_MS} ms)",
                  flush=True)
        else:
            print("(no chromium: the page's own numbers are left out; .ci/run installs it)")
        data["transport_ms"] = ms = transport(stack.grpc_target, stack.url)
        print(table([f"one {WIDTH}x{HEIGHT} frame", "median ms"], [[n, v] for n, v in ms.items()]),
              flush=True)
        data["capacity"] = rows = capacity(stack.url)
    carried = max((r["in_flight"] for r in rows if r["fps_per_stream"] >= GOAL_FPS), default=0)
    data["viewers_per_replica"] = carried
    print(f"one replica carries {carried} live viewer(s) at >= {GOAL_FPS} fps each")
    print(f"wrote {save('live', data)}")
    return data
