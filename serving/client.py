"""The one gRPC client of a model server, TF Serving or ours. The gateway, the rollout
tool, the load tester, the local stack and the benchmarks all talk through it.

- Message limits of 64 MiB both ways: Python gRPC clients receive 4 MB by default, less
  than one stylized 2048 px image as a pixel tensor.
- Reconnect back-off capped at 0.4 s: gRPC's default grows to 2 minutes, so a restarted
  model server would be found again only minutes later; under 0.5 s, a client that waits
  half a second for the channel (the gateway during an outage) sees a fresh attempt.
- Round robin over every address of the target (`ipv4:127.0.0.1:8500,127.0.0.1:8502`, or
  a DNS name with several records), skipping those that are down; with one address it
  changes nothing.
- Every call has a deadline: `timeout`, or the client's default.

Failures stay `grpc.RpcError`s (and `NotAvailable` from `wait_available`): each program
turns them into its own errors, in one place of its own.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.predict_request import (
    embed_request,
    embeddings,
    pixels_request,
    style_names,
    style_names_request,
    stylize_request,
    stylized_images,
    stylized_pixels,
)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 400),
    ("grpc.lb_policy_name", "round_robin"),
)
_State = get_model_status_pb2.ModelVersionStatus.State


class NotAvailable(Exception):
    """A model version did not become AVAILABLE (it failed to load, or time ran out)."""


class ModelServerClient:
    def __init__(self, target: str, timeout: float = 30.0):
        self.target, self.timeout = target, timeout
        self._channel: grpc.Channel | None = None
        self._lock = threading.Lock()

    def _stubs(self):
        # Created on first use: a channel must not cross a gunicorn fork.
        with self._lock:
            if self._channel is None:
                self._channel = grpc.insecure_channel(self.target, options=list(CHANNEL_OPTIONS))
                self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
                self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        return self._predictions, self._models

    def predict(self, request: predict_pb2.PredictRequest,
                timeout: float | None = None) -> predict_pb2.PredictResponse:
        return self._stubs()[0].Predict(request, timeout=timeout or self.timeout)

    def stylize(self, model: str, images: list[bytes], version: int | None = None,
                label: str | None = None, timeout: float | None = None,
                style_controls: dict | None = None) -> tuple[list[bytes], int]:
        """Encoded images in, (JPEGs, the version that answered) out; a multi-style model
        also takes `style_controls` (serving.predict_request.controls)."""
        request = stylize_request(model, images, version, label, style_controls)
        response = self.predict(request, timeout)
        return stylized_images(response), response.model_spec.version.value

    def stylize_pixels(self, model: str, pixels, version: int | None = None,
                       label: str | None = None, timeout: float | None = None,
                       style_controls: dict | None = None):
        """uint8 [N, H, W, 3] RGB frames in, painted frames of the same shape out."""
        response = self.predict(pixels_request(model, pixels, version, label, style_controls),
                                timeout)
        return stylized_pixels(response)

    def style_names(self, model: str, version: int | None = None, label: str | None = None,
                    timeout: float | None = None) -> tuple[list[str], int]:
        """A multi-style model's paintings in the order of its style_weights, and the
        version that answered."""
        response = self.predict(style_names_request(model, version, label), timeout)
        return style_names(response), response.model_spec.version.value

    def embed(self, model: str, paintings: list[bytes], version: int | None = None,
              label: str | None = None, timeout: float | None = None
              ) -> tuple[list[list[float]], int]:
        """An arbitrary-style model's embeddings of encoded paintings, and its version."""
        response = self.predict(embed_request(model, paintings, version, label), timeout)
        return embeddings(response), response.model_spec.version.value

    def versions(self, model: str, timeout: float | None = None) -> dict[int, str]:
        """{version: state name} as GetModelStatus reports them (LOADING, AVAILABLE, END...)."""
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        response = self._stubs()[1].GetModelStatus(request, timeout=timeout or self.timeout)
        return {s.version: _State.Name(s.state) for s in response.model_version_status}

    def reload(self, config, timeout: float | None = None) -> None:
        """HandleReloadConfigRequest: replaces the server's whole models.config."""
        request = model_management_pb2.ReloadConfigRequest(config=config)
        self._stubs()[1].HandleReloadConfigRequest(request, timeout=timeout or self.timeout)

    def connects(self, timeout: float) -> bool:
        """Whether the channel is, or gets, connected within `timeout` seconds."""
        self._stubs()
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
            return True
        except grpc.FutureTimeoutError:
            return False

    def wait_available(self, model: str, version: int | None = None, timeout: float = 90.0,
                       alive: Callable[[], bool] = lambda: True) -> None:
        """Returns once `version` (any version if None) of `model` is AVAILABLE; the status
        call answers while a version is still LOADING, so readiness must read the state.
        Raises NotAvailable when the version failed to load (END), when `alive()` turns
        false (the server process died) or after `timeout` seconds."""
        deadline, state = time.monotonic() + timeout, "not reachable"
        while time.monotonic() < deadline and alive():
            try:
                states = self.versions(model, timeout=2.0)
                state = states.get(version, "NOT LOADED") if version else \
                    ("AVAILABLE" if "AVAILABLE" in states.values() else "no version AVAILABLE")
            except grpc.RpcError as e:
                state = f"{e.code().name}: {e.details()}"
            if state == "AVAILABLE":
                return
            if state == "END":
                break
            time.sleep(0.3)
        which = f"version {version}" if version else "any version"
        raise NotAvailable(f"{self.target}: {model} {which} is not AVAILABLE ({state})")

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None
