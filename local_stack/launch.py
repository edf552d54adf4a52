"""The command lines of the local stack's processes: the model server (the real
`tensorflow_model_server` when it is on the PATH, otherwise our development server, with
the same flags and files) and the gateway under gunicorn; and a model server as a child
process, for tests and benchmarks."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from serving.client import ModelServerClient, NotAvailable
from serving.config_files import CONFIG_DIR

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gateway" / "gunicorn.conf.py"
TF_SERVING_BINARY = "tensorflow_model_server"


@dataclass(frozen=True)
class LaunchConfig:
    model_config_file: Path
    port: int = 8500
    rest_api_port: int = 8501
    monitoring_config_file: Path | None = CONFIG_DIR / "monitoring.config"
    batching_parameters_file: Path | None = None
    file_system_poll_wait_seconds: float = 1.0
    # Our development server's --listen_address (loopback unless set); the real binary
    # has no such flag and listens on every interface.
    listen_address: str | None = None


def model_server_command(cfg: LaunchConfig, binary: str | None = None) -> list[str]:
    binary = binary or shutil.which(TF_SERVING_BINARY)
    program = [binary] if binary else [sys.executable, "-m", "serving.model_server"]
    flags = [f"--port={cfg.port}", f"--rest_api_port={cfg.rest_api_port}",
             f"--model_config_file={cfg.model_config_file}",
             f"--file_system_poll_wait_seconds={cfg.file_system_poll_wait_seconds:g}"]
    if cfg.monitoring_config_file:
        flags.append(f"--monitoring_config_file={cfg.monitoring_config_file}")
    if cfg.listen_address and not binary:
        flags.append(f"--listen_address={cfg.listen_address}")
    if cfg.batching_parameters_file:
        flags += ["--enable_batching=true",
                  f"--batching_parameters_file={cfg.batching_parameters_file}"]
    return program + flags


def gateway_command() -> list[str]:
    """The gateway under gunicorn, as in production (configure with GATEWAY_* variables)."""
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "gateway.wsgi:app"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ModelServerProcess:
    """A model server child process on free loopback ports (tests, benchmarks)."""

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

    def wait_available(self, model: str, version: int | None = None, timeout: float = 90) -> None:
        """Raises serving.client.NotAvailable (with the end of the server's log) if the
        version is not AVAILABLE in time or the server exits."""
        try:
            ModelServerClient(self.grpc_target).wait_available(
                model, version, timeout, alive=lambda: self.process.poll() is None)
        except NotAvailable as e:
            raise NotAvailable(f"{e}; server log: {self.log_file.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
