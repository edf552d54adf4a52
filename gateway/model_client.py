"""The gateway's one gRPC channel to the model server, and the two calls it makes.

Every call has a deadline; UNAVAILABLE is retried with exponential backoff inside that
deadline (a model server restarting or a version loading); gRPC failures become
GatewayErrors here and nowhere else.
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
from serving.requests import stylize_request, stylized_images

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_State = get_model_status_pb2.ModelVersionStatus.State


@dataclass(frozen=True)
class VersionStatus:
    version: int
    state: str


class ModelClient:
    def __init__(self, target: str, timeout: float, status_timeout: float, retries: int = 3):
        self.target, self.timeout, self.status_timeout = target, timeout, status_timeout
        self.retries = retries
        self._channel = None
        self._lock = threading.Lock()

    def _stubs(self):
        # Created on first use: a channel must not cross a gunicorn fork.
        with self._lock:
            if self._channel is None:
                self._channel = grpc.insecure_channel(self.target, options=[
                    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                    # gRPC's default reconnect backoff grows to 2 minutes; a restarted model
                    # server must be found again within our retries, not minutes later.
                    ("grpc.initial_reconnect_backoff_ms", 100),
                    ("grpc.min_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", 1000)])
                self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
                self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        return self._predict, self._models

    def _call(self, method, request, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        delay = 0.1
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            try:
                return method(request, timeout=max(remaining, 0.01))
            except grpc.RpcError as e:
                code = e.code()
                if code == grpc.StatusCode.UNAVAILABLE and attempt < self.retries \
                        and remaining > delay * 2:
                    time.sleep(delay)
                    delay *= 2
                    continue
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
