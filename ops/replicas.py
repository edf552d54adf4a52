"""Model-server replicas as the rollout tool sees them: found through the Kubernetes API
(EndpointSlices of the serving Service) or given as host:port addresses."""
from __future__ import annotations

import io

import grpc
from PIL import Image


class ReplicaError(Exception):
    """A replica did not do what the rollout needed."""


def addresses_from_endpoint_slices(slices, port_name: str = "grpc") -> list[str]:
    """host:port of every ready endpoint in a list of V1EndpointSlice objects."""
    found = []
    for s in slices:
        ports = [p.port for p in (s.ports or []) if p.name == port_name]
        if not ports:
            continue
        for endpoint in s.endpoints or []:
            ready = endpoint.conditions is None or endpoint.conditions.ready is not False
            if ready:
                found += [f"{address}:{ports[0]}" for address in endpoint.addresses]
    return sorted(set(found))


def discover_in_cluster(service: str, namespace: str, port_name: str = "grpc") -> list[str]:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    slices = client.DiscoveryV1Api().list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}").items
    return addresses_from_endpoint_slices(slices, port_name)


class Replica:
    """One model-server replica, through the project's client; failures become
    ReplicaErrors that name the replica."""

    def __init__(self, address: str, timeout: float = 30.0):
        # Here, not at the top: tensorflow-serving-api's protos load TensorFlow (seconds),
        # and the rollout tool answers --help and bad options before that.
        from serving.client import ModelServerClient

        self.address = address
        self.client = ModelServerClient(address, timeout)

    def _rpc(self, what: str, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except grpc.RpcError as e:
            raise ReplicaError(f"{self.address}: {what}: {e.code().name}: {e.details()}") from None

    def versions(self, model: str) -> dict[int, str]:
        return self._rpc("GetModelStatus", self.client.versions, model)

    def reload(self, config) -> None:
        self._rpc("reload config", self.client.reload, config)

    def wait_available(self, model: str, version: int, timeout: float) -> None:
        from serving.client import NotAvailable

        try:
            self.client.wait_available(model, version, timeout)
        except NotAvailable as e:
            raise ReplicaError(str(e)) from None

    def smoke_test(self, model: str, label: str, image: bytes) -> int:
        """Predicts through `label`; checks a JPEG of the input's size comes back."""
        images, version = self._rpc(f"smoke Predict ({label})", self.client.stylize, model,
                                    [image], label=label)
        try:
            out = Image.open(io.BytesIO(images[0]))
            size_ok = out.format == "JPEG" and out.size == Image.open(io.BytesIO(image)).size
        except (OSError, IndexError):
            size_ok = False
        if not size_ok:
            raise ReplicaError(f"{self.address}: smoke Predict returned no JPEG of the input size")
        return version

    def close(self) -> None:
        self.client.close()
