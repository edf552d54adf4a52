"""`make run`: the model server and the gateway on this machine, until Ctrl-C.

    python -m serving.run_local --repo model_repo
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from export.bundled import MODELS_CONFIG
from serving.config_files import ConfigError, read_model_config
from serving.launch import LaunchConfig, gateway_command, model_server_command, version_states


def wait_until_ready(gateway_url: str, rest_url: str, models: list[str], timeout: float,
                     process: subprocess.Popen) -> bool:
    """True once every model has an AVAILABLE version and the gateway answers: the site is
    announced only when every bundled style can be picked (the gateway's /readyz is ready
    as soon as one style is)."""
    deadline = time.monotonic() + timeout
    pending = list(models)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            pending = [m for m in pending if "AVAILABLE" not in version_states(rest_url, m).values()]
            if not pending:
                with urllib.request.urlopen(gateway_url, timeout=2) as response:
                    if response.status == 200:
                        return True
        except urllib.error.HTTPError as e:
            e.close()
        except (urllib.error.URLError, OSError, KeyError):
            pass
        time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run_local", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--repo", type=Path, default=Path("model_repo"))
    p.add_argument("--host", default="127.0.0.1", help="gateway address")
    p.add_argument("--port", type=int, default=8080, help="gateway port")
    p.add_argument("--grpc-port", type=int, default=8500)
    p.add_argument("--rest-port", type=int, default=8501)
    args = p.parse_args(argv)
    config = args.repo / MODELS_CONFIG
    if not config.is_file():
        print(f"run_local: error: {config} is missing; run `make models` first", file=sys.stderr)
        return 2
    try:
        models = [m.name for m in read_model_config(config).model_config_list.config]
    except ConfigError as e:
        print(f"run_local: error: {e}", file=sys.stderr)
        return 2
    # Ctrl-C and `kill` both stop the two children cleanly (see the finally below).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = subprocess.Popen(model_server_command(LaunchConfig(
        config, port=args.grpc_port, rest_api_port=args.rest_port)))
    env = {**os.environ, "GATEWAY_MODEL_SERVER": f"127.0.0.1:{args.grpc_port}",
           "GUNICORN_BIND": f"{args.host}:{args.port}"}
    gateway = subprocess.Popen(gateway_command(), env=env)
    try:
        url = f"http://{args.host}:{args.port}"
        if wait_until_ready(f"{url}/readyz", f"http://127.0.0.1:{args.rest_port}", models, 180,
                            server):
            print(f"\n  Stylize is running: open {url}   (Ctrl-C stops it)\n", flush=True)
        else:
            print("run_local: the model server did not become ready; see its log above",
                  file=sys.stderr)
        while server.poll() is None and gateway.poll() is None:
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (gateway, server):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (gateway, server):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
