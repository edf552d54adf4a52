"""A TF-Serving-compatible model server for development and CI.

Production runs the official `tensorflow/serving` image; this server exists because the
`tensorflow_model_server` binary cannot be installed everywhere. It takes the same flags
(the subset below), reads the same models.config and model layout, and speaks the same
gRPC API (tensorflow-serving-api protos) and REST paths. It does not batch:
--enable_batching and --batching_parameters_file are validated and otherwise ignored.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass

from serving import tf_env
from serving.model_server.errors import ServingError


@dataclass(frozen=True)
class ServerConfig:
    port: int = 8500
    rest_api_port: int = 0
    # Ours only: tensorflow_model_server listens on every interface (its container is
    # guarded by the NetworkPolicy); a development machine keeps its models to itself.
    listen_address: str = "127.0.0.1"
    model_config_file: str | None = None
    model_name: str | None = None
    model_base_path: str | None = None
    file_system_poll_wait_seconds: float = 1.0
    monitoring_config_file: str | None = None
    enable_batching: bool = False
    batching_parameters_file: str | None = None
    enable_model_warmup: bool = True
    grpc_max_threads: int = 16


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    d = ServerConfig()
    p = argparse.ArgumentParser(
        prog="model-server", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Development stand-in for tensorflow_model_server (same flags, files and "
        "APIs). Serve models.config: model-server --model_config_file=models.config "
        "--rest_api_port=8501")
    p.add_argument("--port", type=int, default=d.port, help="gRPC port")
    p.add_argument("--rest_api_port", type=int, default=d.rest_api_port, help="0 disables REST")
    p.add_argument("--listen_address", default=d.listen_address,
                   help="address both ports listen on (this server only; 0.0.0.0 = every "
                   "interface, which lets anyone who reaches it reload or unload models)")
    p.add_argument("--model_config_file", default=None, help="ModelServerConfig text proto")
    p.add_argument("--model_name", default=None, help="single model mode: its name")
    p.add_argument("--model_base_path", default=None, help="single model mode: its base path")
    p.add_argument("--file_system_poll_wait_seconds", type=float,
                   default=d.file_system_poll_wait_seconds, help="version polling interval")
    p.add_argument("--monitoring_config_file", default=None, help="MonitoringConfig text proto")
    p.add_argument("--enable_batching", type=_bool, nargs="?", const=True, default=False)
    p.add_argument("--batching_parameters_file", default=None)
    p.add_argument("--enable_model_warmup", type=_bool, nargs="?", const=True, default=True)
    p.add_argument("--grpc_max_threads", type=int, default=d.grpc_max_threads)
    return p


def _initial_config(cfg: ServerConfig):
    from serving.config_files import ConfigError, ModelServerConfig, read_model_config

    if cfg.model_config_file:
        return read_model_config(cfg.model_config_file)
    if cfg.model_name and cfg.model_base_path:
        config = ModelServerConfig()
        config.model_config_list.config.add(name=cfg.model_name, base_path=cfg.model_base_path,
                                            model_platform="tensorflow")
        return config
    raise ConfigError("give --model_config_file, or --model_name and --model_base_path")


def _metrics_path(cfg: ServerConfig) -> str | None:
    from serving.config_files import BatchingParameters, MonitoringConfig, read_text

    if cfg.batching_parameters_file:
        read_text(cfg.batching_parameters_file, BatchingParameters)
    if not cfg.monitoring_config_file:
        return None
    monitoring = read_text(cfg.monitoring_config_file, MonitoringConfig)
    prometheus = monitoring.prometheus_config
    return (prometheus.path or "/monitoring/prometheus/metrics") if prometheus.enable else None


class ModelServer:
    """The server as a handle: start() loads the configured models, then opens the ports
    and polls the file system in a thread; stop() shuts it down. `main` runs one until a
    signal; tests run several in one process."""

    def __init__(self, cfg: ServerConfig):
        from serving.model_server.registry import ModelRegistry

        self.cfg = cfg
        self.registry = ModelRegistry(warm_up=cfg.enable_model_warmup)
        self.grpc_port, self.rest_port = cfg.port, cfg.rest_api_port
        self._stop = threading.Event()
        self._grpc = self._rest = self._poller = None

    @property
    def grpc_target(self) -> str:
        return f"{self.cfg.listen_address}:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.cfg.listen_address}:{self.rest_port}"

    def start(self) -> ModelServer:
        import grpc
        from werkzeug.serving import make_server

        from serving.client import MAX_MESSAGE_BYTES
        from serving.model_server.grpc_api import ErrorMapping, add_services
        from serving.model_server.rest_api import create_rest_app

        config, metrics_path = _initial_config(self.cfg), _metrics_path(self.cfg)
        # Like tensorflow_model_server, load the configured models before opening the
        # ports: a replica that restarts must not take requests for labels it has not set.
        try:
            self.registry.apply_config(config)
        except ServingError as e:  # a bad label at start-up is logged, as TF Serving does
            logging.error("%s", e)
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=self.cfg.grpc_max_threads),
                                 interceptors=[ErrorMapping()], options=options)
        update_health = add_services(self._grpc, self.registry)
        host = self.cfg.listen_address
        self.grpc_port = self._grpc.add_insecure_port(
            f"[{host}]:{self.cfg.port}" if ":" in host else f"{host}:{self.cfg.port}")
        if self.grpc_port == 0:
            raise OSError(f"cannot listen on gRPC {host}:{self.cfg.port}")
        self._grpc.start()
        if self.cfg.rest_api_port:
            self._rest = make_server(host, self.cfg.rest_api_port,
                                     create_rest_app(self.registry, metrics_path), threaded=True)
            threading.Thread(target=self._rest.serve_forever, daemon=True).start()
        logging.info("gRPC on %s:%d, REST on %s", host, self.grpc_port, self.rest_port or "off")
        self._poller = threading.Thread(target=self._poll, args=(update_health,), daemon=True)
        self._poller.start()
        return self

    def _poll(self, update_health) -> None:
        while not self._stop.wait(self.cfg.file_system_poll_wait_seconds):
            self.registry.sync()
            update_health()

    def stop(self) -> None:
        self._stop.set()
        if self._poller:
            self._poller.join()
        if self._rest:
            self._rest.shutdown()
            self._rest.server_close()
        if self._grpc:
            self._grpc.stop(grace=2).wait()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = ServerConfig(**vars(args))
    tf_env.apply()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s model_server %(message)s")
    # TF Serving does not log each REST request; readiness polling would fill the terminal.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from serving.config_files import ConfigError

    try:
        server = ModelServer(cfg).start()
    except (ConfigError, OSError) as e:
        print(f"model-server: error: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0
