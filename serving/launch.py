"""Builds the model-server command line: the real `tensorflow_model_server` when it is on
the PATH, otherwise our development server, with the same flags and files."""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "config"
TF_SERVING_BINARY = "tensorflow_model_server"


@dataclass(frozen=True)
class LaunchConfig:
    model_config_file: Path
    port: int = 8500
    rest_api_port: int = 8501
    monitoring_config_file: Path | None = CONFIG_DIR / "monitoring.config"
    batching_parameters_file: Path | None = None
    file_system_poll_wait_seconds: float = 1.0


def model_server_command(cfg: LaunchConfig, binary: str | None = None) -> list[str]:
    binary = binary or shutil.which(TF_SERVING_BINARY)
    program = [binary] if binary else [sys.executable, "-m", "serving.model_server"]
    flags = [f"--port={cfg.port}", f"--rest_api_port={cfg.rest_api_port}",
             f"--model_config_file={cfg.model_config_file}",
             f"--file_system_poll_wait_seconds={cfg.file_system_poll_wait_seconds:g}"]
    if cfg.monitoring_config_file:
        flags.append(f"--monitoring_config_file={cfg.monitoring_config_file}")
    if cfg.batching_parameters_file:
        flags += ["--enable_batching=true",
                  f"--batching_parameters_file={cfg.batching_parameters_file}"]
    return program + flags
