"""The processes of a site on one machine: model-server replicas, the HD worker and the
gateway under gunicorn, supervised. `make run` and the benchmarks start it the same way."""
from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.launch import (
    LaunchConfig,
    gateway_command,
    hd_worker_command,
    model_server_command,
)
from local_stack.supervisor import Child, Supervisor


@dataclass(frozen=True)
class StackConfig:
    """Replica i listens on gRPC grpc_port + 2i and REST rest_port + 2i."""

    model_config_file: Path
    replicas: int = 1
    grpc_port: int = 8500
    rest_port: int = 8501
    host: str = "127.0.0.1"          # the gateway's address
    port: int = 8080                 # the gateway's port
    model_server_address: str | None = None  # the development server's; None = loopback
    gateway_env: dict[str, str] = field(default_factory=dict)  # GATEWAY_* settings
    log: Path | None = None          # every process's output; None = the terminal
    hd_port: int | None = None       # the HD worker's port; None = no HD
    hd_paintings: Path | None = None  # the paintings HD can name (HD_PAINTINGS_DIR)


class LocalStack:
    def __init__(self, cfg: StackConfig):
        self.cfg = cfg
        ports = [(cfg.grpc_port + 2 * i, cfg.rest_port + 2 * i) for i in range(cfg.replicas)]
        self.replicas = [f"127.0.0.1:{grpc}" for grpc, _ in ports]
        self.url = f"http://{cfg.host}:{cfg.port}"
        env = {**os.environ, **cfg.gateway_env, "GUNICORN_BIND": f"{cfg.host}:{cfg.port}",
               "GATEWAY_MODEL_SERVER": self.grpc_target}
        servers = [Child(f"model-server-{i}", model_server_command(LaunchConfig(
            cfg.model_config_file, port=grpc, rest_api_port=rest,
            listen_address=cfg.model_server_address)), log=cfg.log)
            for i, (grpc, rest) in enumerate(ports)]
        children = [*servers]
        if cfg.hd_port:
            env["GATEWAY_HD_WORKER"] = f"http://127.0.0.1:{cfg.hd_port}"
            hd_env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{cfg.hd_port}",
                      **({"HD_PAINTINGS_DIR": str(cfg.hd_paintings)} if cfg.hd_paintings else {})}
            children.append(Child("hd-worker", hd_worker_command(), hd_env, cfg.log))
        self.supervisor = Supervisor([*children, Child("gateway", gateway_command(), env, cfg.log)])

    @property
    def grpc_target(self) -> str:
        """What the gateway calls: one replica, or all of them round robin."""
        return self.replicas[0] if len(self.replicas) == 1 else "ipv4:" + ",".join(self.replicas)

    def model_server_pid(self, replica: int = 0) -> int:
        return self.supervisor.children[replica].process.pid

    def ready(self, models: list[str]) -> bool:
        """True when every model has an AVAILABLE version on every replica and the
        gateway's /readyz answers: every style can be picked (/readyz is ready as soon as
        one style is)."""
        # Imported here, not at the top: the client's protos import TensorFlow (seconds),
        # which `make run` then does while its children start, not before.
        import grpc

        from serving.client import ModelServerClient

        try:
            for replica in self.replicas:
                client = ModelServerClient(replica, timeout=2.0)
                try:
                    if any("AVAILABLE" not in client.versions(m).values() for m in models):
                        return False
                finally:
                    client.close()
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                return response.status == 200
        except urllib.error.HTTPError as e:
            e.close()
        except (grpc.RpcError, urllib.error.URLError, OSError):
            pass
        return False

    def start(self, models: list[str] | None = None, timeout: float = 180.0) -> LocalStack:
        """Starts every process; with `models`, returns once they are all ready."""
        self.supervisor.start()
        deadline = time.monotonic() + timeout
        while models is not None and not self.ready(models):
            self.supervisor.poll()
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the local stack was not ready within {timeout:g} s")
            time.sleep(0.5)
        return self

    def stop(self) -> None:
        self.supervisor.stop()
