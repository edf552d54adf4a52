"""Real model-server processes for tests, on free loopback ports."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from serving.launch import LaunchConfig, model_server_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ModelServerProcess:
    def __init__(self, config_file: Path, log_file: Path, grpc_port: int | None = None):
        self.config_file, self.log_file = config_file, log_file
        self.grpc_port = grpc_port or free_port()
        self.rest_port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def start(self, wait_for: str | None = None) -> ModelServerProcess:
        cmd = model_server_command(LaunchConfig(self.config_file, self.grpc_port, self.rest_port,
                                                file_system_poll_wait_seconds=0.5))
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        if wait_for:
            self.wait_available(wait_for)
        return self

    def status(self, model: str) -> dict:
        with urllib.request.urlopen(f"{self.rest_url}/v1/models/{model}", timeout=2) as r:
            return json.load(r)

    def wait_available(self, model: str, version: str | None = None, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"model server exited: {self.log_file.read_text()[-2000:]}")
            try:
                states = {s["version"]: s["state"] for s in self.status(model)["model_version_status"]}
                if (version and states.get(version) == "AVAILABLE") or \
                        (not version and "AVAILABLE" in states.values()):
                    return
            except urllib.error.HTTPError as e:
                e.close()
            except (urllib.error.URLError, OSError, KeyError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{model} not AVAILABLE after {timeout}s: {self.log_file.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def python() -> str:
    return sys.executable
