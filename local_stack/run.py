"""`make run`: the model server(s) and the gateway on this machine, until Ctrl-C.

    python -m local_stack --repo model_repo                # make run
    python -m local_stack --repo model_repo --replicas 2   # make run REPLICAS=2

Every process is supervised: one that crashes or is killed is started again (back-off
1 s doubling to 30 s) and the site comes back by itself. Ctrl-C or SIGTERM stops them all.
Replica i listens on gRPC port 8500 + 2i and REST port 8501 + 2i, on loopback; the
gateway spreads requests over the replicas and asks for the `stable` label, as in the
cluster, so `rollout publish/rollback --replicas ... --config <repo>/models.config`
changes what the page serves.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from local_stack.stack import LocalStack, StackConfig
from serving.config_files import MODELS_CONFIG, ConfigError, read_model_config

ANNOUNCE_TIMEOUT = 180.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="local_stack", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", type=Path, default=Path("model_repo"),
                   help="model repository holding models.config (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="gateway address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="gateway port (default: %(default)s)")
    p.add_argument("--grpc-port", type=int, default=8500,
                   help="gRPC port of the first replica (default: %(default)s)")
    p.add_argument("--rest-port", type=int, default=8501,
                   help="REST port of the first replica (default: %(default)s)")
    p.add_argument("--replicas", type=int, default=1,
                   help="model-server replicas, all serving the same models.config "
                        "(default: %(default)s)")
    p.add_argument("--hd-port", type=int, default=8600,
                   help="the HD worker's port; 0 = no HD (default: %(default)s)")
    p.add_argument("--hd-paintings", type=Path, default=None,
                   help="folder of the paintings HD can name, <style>.jpg (default: none: HD "
                        "then works with paintings people upload only)")
    p.add_argument("--model-server-address", default=None,
                   help="address the development model server listens on (default: loopback; "
                        "0.0.0.0 exposes model reloads to the network)")
    return p


def hd_summary(port: int, paintings: Path | None) -> str:
    """The banner's line on HD: which paintings its button can refine."""
    if not port:
        return "HD: off (--hd-port 0)"
    if paintings:
        return f"HD worker: port {port}, refines the paintings in {paintings} and uploaded ones"
    return (f"HD worker: port {port}, no paintings folder, so it refines uploaded paintings "
            f"only (--hd-paintings DIR; `make run` passes $(DATA)/styles when it exists)")


def watch(stack: LocalStack, models: list[str], hd: str) -> None:
    """Supervises until interrupted; says when the site is up, and when it is back after a
    process exited. Readiness is polled only until the site is up (the gateway and the
    model server log every request they answer)."""
    started = time.monotonic()
    announced, warned, up, down_since = False, False, False, 0.0
    while True:
        if stack.supervisor.poll() and up:
            up, down_since = False, time.monotonic()
            print("local_stack: waiting for the restarted process to be ready", flush=True)
        if not up and stack.supervisor.all_running():
            up = stack.ready(models)
            if up and not announced:
                announced = True
                print(f"\n  Stylize is running: open {stack.url}   (Ctrl-C stops it)\n"
                      f"  model-server replicas (gRPC): {','.join(stack.replicas)}\n"
                      f"  {hd}\n", flush=True)
            elif up:
                print(f"local_stack: every process is ready again after "
                      f"{time.monotonic() - down_since:.1f} s", flush=True)
            elif not announced and not warned and time.monotonic() - started > ANNOUNCE_TIMEOUT:
                warned = True
                print("local_stack: the site is not ready yet; see the model server's log above",
                      file=sys.stderr, flush=True)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.replicas < 1:
        print("local_stack: error: --replicas must be at least 1", file=sys.stderr)
        return 2
    if args.hd_paintings and not args.hd_paintings.is_dir():
        print(f"local_stack: error: --hd-paintings {args.hd_paintings} is not a folder",
              file=sys.stderr)
        return 2
    config = args.repo / MODELS_CONFIG
    if not config.is_file():
        print(f"local_stack: error: {config} is missing; run `make models` first", file=sys.stderr)
        return 2
    try:
        models = [m.name for m in read_model_config(config).model_config_list.config]
    except ConfigError as e:
        print(f"local_stack: error: {e}", file=sys.stderr)
        return 2
    # Ctrl-C and `kill` both stop the children cleanly (see the finally below).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stack = LocalStack(StackConfig(config, args.replicas, args.grpc_port, args.rest_port, args.host,
                                   args.port, args.model_server_address,
                                   hd_port=args.hd_port or None, hd_paintings=args.hd_paintings))
    stack.start()
    try:
        watch(stack, models, hd_summary(args.hd_port, args.hd_paintings))
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
