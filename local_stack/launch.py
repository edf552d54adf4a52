"""The command lines of the local stack's processes: the model server (the real
`tensorflow_model_server` when it is on the PATH, otherwise our development server, with
the same flags and files) and the gateway under gunicorn."""
from __future__ import annotations

import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from serving.config_files import CONFIG_DIR

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gateway" / "gunicorn.conf.py"
HD_GUNICORN_CONF = Path(__file__).resolve().parent.parent / "hd" / "gunicorn.conf.py"
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


def hd_worker_command() -> list[str]:
    """The HD worker under gunicorn (configure with HD_* variables)."""
    return [sys.executable, "-m", "gunicorn", "-c", str(HD_GUNICORN_CONF), "hd.wsgi:app"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
