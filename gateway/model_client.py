"""The gateway's one gRPC channel to the model server, and the two calls it makes.

Every call has a deadline; UNAVAILABLE is retried with exponential backoff inside that
deadline (a replica going away while another still serves, a model server restarting);
gRPC failures become GatewayErrors here and nowhere else.

Once a call has run out of retries on UNAVAILABLE the model server is known to be down:
until a call gets an answer again, each call first waits at most FAST_FAIL_WAIT for the
channel to connect and answers 503 at once if it does not, instead of waiting out the
retries (about 3 s) for every request of an outage.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import grpc
from flask import Flask, current_app
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

from gateway.errors import BadParameter, ModelServerTimeout, ModelServerUnavailable
from gateway.metrics import PREDICT_LATENCY
from serving.channel import open_channel
from serving.requests import stylize_request, stylized_images

_State = get_model_status_pb2.ModelVersionStatus.State
FAST_FAIL_WAIT = 0.45  # seconds; the channel retries connecting every 0.4 s at most


@dataclass(frozen=True)
class VersionStatus:
    version: int
    state: str


class ModelClient:
    def __init__(self, target: str, timeout: float, status_timeout: float, retries: int = 3):
        self.target, self.timeout, self.status_timeout = target, timeout, status_timeout
        self.retries = retries
        self._known_down = False
        self._channel = None
        self._lock = threading.Lock()

    def _stubs(self):
        # Created on first use: a channel must not cross a gunicorn fork.
        with self._lock:
            if self._channel is None:
                self._channel = open_channel(self.target)
                self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
                self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        return self._predict, self._models

    def _connects(self, timeout: float) -> bool:
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
            return True
        except grpc.FutureTimeoutError:
            return False

    def _call(self, method, request, timeout: float, what: str):
        if self._known_down and not self._connects(min(FAST_FAIL_WAIT, timeout)):
            raise ModelServerUnavailable(f"model server unavailable ({what}); try again shortly")
        deadline = time.monotonic() + timeout
        delay = 0.1
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            try:
                response = method(request, timeout=max(remaining, 0.01))
                self._known_down = False
                return response
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    if attempt < self.retries and remaining > delay * 2:
                        time.sleep(delay)
                        delay *= 2
                        continue
                    self._known_down = True
                elif e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    self._known_down = False  # the server answered, if with an error
                raise self._translate(e, what) from None
        raise AssertionError("unreachable")

    @staticmethod
    def _translate(e: grpc.RpcError, what: str):
        code, detail = e.code(), e.details()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return ModelServerTimeout(f"the model server did not answer in time ({what})")
        if code == grpc.StatusCode.NOT_FOUND:
            return BadParameter(f"{what}: {detail}")
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return BadParameter(f"the model rejected the image: {detail}")
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return BadParameter(f"image too large for the model server: {detail}")
        return ModelServerUnavailable(f"model server unavailable ({code.name}); try again shortly")

    def stylize(self, style: str, jpeg: bytes, version: int | None = None,
                label: str | None = None) -> tuple[bytes, int]:
        """Returns (stylized JPEG, model version that answered)."""
        predict, _ = self._stubs()
        request = stylize_request(style, [jpeg], version, label)
        start = time.perf_counter()
        try:
            response = self._call(predict.Predict, request, self.timeout, f"style {style!r}")
        finally:
            PREDICT_LATENCY.labels(style).observe(time.perf_counter() - start)
        return stylized_images(response)[0], response.model_spec.version.value

    def versions(self, style: str) -> list[VersionStatus]:
        _, models = self._stubs()
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = style
        response = self._call(models.GetModelStatus, request, self.status_timeout,
                              f"style {style!r}")
        return [VersionStatus(s.version, _State.Name(s.state))
                for s in response.model_version_status]


def init_app(app: Flask) -> None:
    app.extensions["model_client"] = ModelClient(
        app.config["MODEL_SERVER"], app.config["PREDICT_TIMEOUT"],
        app.config["STATUS_TIMEOUT"], app.config["PREDICT_RETRIES"])


def get_client() -> ModelClient:
    return current_app.extensions["model_client"]
