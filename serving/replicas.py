"""Model-server replicas as the rollout tool sees them: found through the Kubernetes API
(EndpointSlices of the serving Service) or given as host:port addresses."""
from __future__ import annotations

import io
import time

import grpc
from PIL import Image
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

from serving.channel import open_channel
from serving.requests import stylize_request, stylized_images

_State = get_model_status_pb2.ModelVersionStatus.State


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
    def __init__(self, address: str, timeout: float = 30.0):
        self.address, self.timeout = address, timeout
        self.channel = open_channel(address)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def _rpc(self, method, request, what: str):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ReplicaError(f"{self.address}: {what}: {e.code().name}: {e.details()}") from None

    def versions(self, model: str) -> dict[int, str]:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        response = self._rpc(self.models.GetModelStatus, request, "GetModelStatus")
        return {s.version: _State.Name(s.state) for s in response.model_version_status}

    def reload(self, config) -> None:
        request = model_management_pb2.ReloadConfigRequest(config=config)
        self._rpc(self.models.HandleReloadConfigRequest, request, "reload config")

    def wait_available(self, model: str, version: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = "UNKNOWN"
        while time.monotonic() < deadline:
            state = self.versions(model).get(version, "NOT LOADED")
            if state == "AVAILABLE":
                return
            if state == "END":
                break
            time.sleep(0.5)
        raise ReplicaError(f"{self.address}: {model} version {version} is {state}, not AVAILABLE")

    def smoke_test(self, model: str, label: str, image: bytes) -> int:
        """Predicts through `label`; checks a JPEG of the input's size comes back."""
        request = stylize_request(model, [image], label=label)
        response = self._rpc(self.predictions.Predict, request, f"smoke Predict ({label})")
        try:
            out = Image.open(io.BytesIO(stylized_images(response)[0]))
            size_ok = out.format == "JPEG" and out.size == Image.open(io.BytesIO(image)).size
        except (OSError, IndexError):
            size_ok = False
        if not size_ok:
            raise ReplicaError(f"{self.address}: smoke Predict returned no JPEG of the input size")
        return response.model_spec.version.value

    def close(self) -> None:
        self.channel.close()
