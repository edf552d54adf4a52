"""A local serving stack for benchmarks: one model (`fast` preset unless a bundled style is
given) in a temporary repository, the model server, and the gateway under gunicorn."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from serving.config_files import ModelServerConfig, model_config_text, pin_model
from serving.launch import ModelServerProcess, free_port, gateway_command

MODEL = "bench"


def _export_model(repo: Path, preset: str) -> None:
    import tensorflow as tf

    from bench.model_latency import export_preset

    export_preset(preset, str(repo / MODEL / "1"))
    tf.keras.backend.clear_session()


@dataclass(frozen=True)
class Stack:
    server: ModelServerProcess
    url: str           # the gateway
    config: Path       # the models.config both the server and a rollout use

    @property
    def grpc_target(self) -> str:
        return self.server.grpc_target


@contextlib.contextmanager
def local_stack(preset: str = "fast"):
    """Yields the running Stack; stops it afterwards. The gateway's rate limit is off: the
    load comes from one address."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _export_model(root / "repo", preset)
        config = ModelServerConfig()
        pin_model(config, MODEL, str(root / "repo" / MODEL), 1)
        (root / "models.config").write_text(model_config_text(config))
        (root / "catalogue.json").write_text(json.dumps({"styles": [
            {"name": MODEL, "title": "Benchmark", "artist": "bench", "year": "2026"}]}))
        server = ModelServerProcess(root / "models.config", root / "server.log").start(wait_for=MODEL)
        port = free_port()
        env = {**os.environ, "GATEWAY_MODEL_SERVER": server.grpc_target,
               "GATEWAY_CATALOGUE_FILE": str(root / "catalogue.json"),
               "GUNICORN_BIND": f"127.0.0.1:{port}", "GATEWAY_STYLIZE_RATE_LIMIT": ""}
        gateway = subprocess.Popen(gateway_command(), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(f"{url}/readyz")
            yield Stack(server, url, root / "models.config")
        finally:
            gateway.terminate()
            gateway.wait(15)
            server.stop()


def _wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer")
