"""`make run`: the model server(s) and the gateway on this machine, until Ctrl-C.

    python -m serving.run_local --repo model_repo                # make run
    python -m serving.run_local --repo model_repo --replicas 2   # make run REPLICAS=2

Every process is supervised: one that crashes or is killed is started again (back-off
1 s doubling to 30 s) and the site comes back by itself. Ctrl-C or SIGTERM stops them all.
Replica i listens on gRPC port 8500 + 2i and REST port 8501 + 2i, on loopback; the
gateway spreads requests over the replicas and asks for the `stable` label, as in the
cluster, so `rollout publish/rollback --replicas ... --config <repo>/models.config`
changes what the page serves.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from serving.config_files import MODELS_CONFIG, ConfigError, read_model_config
from serving.launch import LaunchConfig, gateway_command, model_server_command, version_states
from serving.supervisor import Child, Supervisor

ANNOUNCE_TIMEOUT = 180.0


def site_ready(gateway_url: str, rest_urls: list[str], models: list[str]) -> bool:
    """True when every model has an AVAILABLE version on every replica and the gateway's
    /readyz answers: the site is announced only when every bundled style can be picked
    (/readyz is ready as soon as one style is)."""
    try:
        for rest_url in rest_urls:
            if any("AVAILABLE" not in version_states(rest_url, m).values() for m in models):
                return False
        with urllib.request.urlopen(gateway_url, timeout=2) as response:
            return response.status == 200
    except urllib.error.HTTPError as e:
        e.close()
    except (urllib.error.URLError, OSError, KeyError):
        pass
    return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_local", description=__doc__,
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
    p.add_argument("--model-server-address", default=None,
                   help="address the development model server listens on (default: loopback; "
                        "0.0.0.0 exposes model reloads to the network)")
    return p


class LocalStack:
    """The children of `make run` and the URLs to check them by."""

    def __init__(self, args, config: Path):
        self.ports = [(args.grpc_port + 2 * i, args.rest_port + 2 * i) for i in range(args.replicas)]
        self.rest_urls = [f"http://127.0.0.1:{rest}" for _, rest in self.ports]
        self.url = f"http://{args.host}:{args.port}"
        targets = [f"127.0.0.1:{grpc}" for grpc, _ in self.ports]
        env = {**os.environ, "GUNICORN_BIND": f"{args.host}:{args.port}",
               "GATEWAY_MODEL_SERVER": targets[0] if len(targets) == 1
               else "ipv4:" + ",".join(targets)}
        servers = [Child(f"model-server-{i}", model_server_command(LaunchConfig(
            config, port=grpc, rest_api_port=rest, listen_address=args.model_server_address)))
            for i, (grpc, rest) in enumerate(self.ports)]
        self.supervisor = Supervisor([*servers, Child("gateway", gateway_command(), env)])
        self.replica_list = ",".join(targets)


def watch(stack: LocalStack, models: list[str]) -> None:
    """Supervises until interrupted; says when the site is up, and when it is back after a
    process exited. Readiness is polled only until the site is up (the gateway and the
    model server log every request they answer)."""
    started = time.monotonic()
    announced, warned, up, down_since = False, False, False, 0.0
    while True:
        if stack.supervisor.poll() and up:
            up, down_since = False, time.monotonic()
            print("run_local: the site is down until the process is back", flush=True)
        if not up and stack.supervisor.all_running():
            up = site_ready(f"{stack.url}/readyz", stack.rest_urls, models)
            if up and not announced:
                announced = True
                print(f"\n  Stylize is running: open {stack.url}   (Ctrl-C stops it)\n"
                      f"  model-server replicas (gRPC): {stack.replica_list}\n", flush=True)
            elif up:
                print(f"run_local: the site is back after {time.monotonic() - down_since:.1f} s",
                      flush=True)
            elif not announced and not warned and time.monotonic() - started > ANNOUNCE_TIMEOUT:
                warned = True
                print("run_local: the site is not ready yet; see the model server's log above",
                      file=sys.stderr, flush=True)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.replicas < 1:
        print("run_local: error: --replicas must be at least 1", file=sys.stderr)
        return 2
    config = args.repo / MODELS_CONFIG
    if not config.is_file():
        print(f"run_local: error: {config} is missing; run `make models` first", file=sys.stderr)
        return 2
    try:
        models = [m.name for m in read_model_config(config).model_config_list.config]
    except ConfigError as e:
        print(f"run_local: error: {e}", file=sys.stderr)
        return 2
    # Ctrl-C and `kill` both stop the children cleanly (see the finally below).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stack = LocalStack(args, config)
    stack.supervisor.start()
    try:
        watch(stack, models)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
