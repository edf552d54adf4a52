"""Where the cluster's models.config lives, so restarted replicas agree with the rollout.

The rollout tool changes replicas with HandleReloadConfigRequest (immediate, and it can
sequence label moves), then saves the same config here: a file locally, the
`model-server-config` ConfigMap in a cluster (mounted as the replicas' models.config).
"""
from __future__ import annotations

from pathlib import Path

from serving.config_files import (
    ModelServerConfig,
    check_model_config,
    model_config_text,
    parse_text,
    read_model_config,
)


class FileConfigStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> ModelServerConfig:
        return read_model_config(self.path)

    def write(self, config: ModelServerConfig) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(model_config_text(config))
        tmp.replace(self.path)

    def __str__(self):
        return str(self.path)


class ConfigMapStore:
    def __init__(self, name: str, namespace: str, key: str = "models.config"):
        from kubernetes import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        self.api = client.CoreV1Api()
        self.name, self.namespace, self.key = name, namespace, key

    def read(self) -> ModelServerConfig:
        data = self.api.read_namespaced_config_map(self.name, self.namespace).data or {}
        config = parse_text(data.get(self.key, ""), ModelServerConfig, f"configmap/{self.name}")
        check_model_config(config, f"configmap/{self.name}")
        return config

    def write(self, config: ModelServerConfig) -> None:
        self.api.patch_namespaced_config_map(
            self.name, self.namespace, {"data": {self.key: model_config_text(config)}})

    def __str__(self):
        return f"configmap/{self.name} in {self.namespace}"
