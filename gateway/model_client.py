"""The gateway's calls to the model server: the project's one client (serving/client.py)
with the gateway's retries on top, and gRPC failures turned into GatewayErrors here and
nowhere else.

UNAVAILABLE is retried with exponential backoff inside the deadline (a replica going
away while another still serves, a model server restarting). Once a call has run out of
retries on UNAVAILABLE the model server is known to be down: until a call gets an answer
again, each call first waits at most FAST_FAIL_WAIT for the channel to connect and
answers 503 at once if it does not, instead of waiting out the retries (about 3 s) for
every request of an outage.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from flask import Flask, current_app

from gateway.errors import (
    BadParameter,
    GatewayError,
    LabelNotFound,
    ModelServerTimeout,
    ModelServerUnavailable,
)
from gateway.metrics import PREDICT_LATENCY, PREDICTIONS, saw_label
from serving.client import ModelServerClient
from serving.contract import LABEL_CANARY

FAST_FAIL_WAIT = 0.45  # seconds; the channel retries connecting every 0.4 s at most
NAMES_TTL = 5.0  # seconds a multi-style model's style names are remembered


@dataclass(frozen=True)
class VersionStatus:
    version: int
    state: str


class ModelClient:
    def __init__(self, target: str, timeout: float, status_timeout: float, retries: int = 3,
                 canary_fallback: str | None = None):
        """`canary_fallback`: the label a request sent to `canary` uses instead while the
        model has no canary (the site's default label)."""
        self.server = ModelServerClient(target, timeout)
        self.timeout, self.status_timeout, self.retries = timeout, status_timeout, retries
        self.canary_fallback = canary_fallback
        self._known_down = False
        self._names: dict[tuple, tuple[float, tuple[list[str], int] | BadParameter]] = {}

    def _call(self, call: Callable[[float], object], timeout: float, what: str):
        """call(seconds left) with the retries, the fast 503 and the error translation."""
        if self._known_down and not self.server.connects(min(FAST_FAIL_WAIT, timeout)):
            raise ModelServerUnavailable(f"model server unavailable ({what}); try again shortly")
        deadline, delay = time.monotonic() + timeout, 0.1
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            try:
                result = call(max(remaining, 0.01))
                self._known_down = False
                return result
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
            # TF Serving's words for a label that names no version (ours says the same).
            missing_label = "servable version label" in (detail or "")
            return (LabelNotFound if missing_label else BadParameter)(f"{what}: {detail}")
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return BadParameter(f"the model rejected the image: {detail}")
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return BadParameter(f"image too large for the model server: {detail}")
        return ModelServerUnavailable(f"model server unavailable ({code.name}); try again shortly")

    def _labelled(self, call: Callable[[str | None], object], label: str | None):
        """call(label), or call(the fallback) when `label` is canary and names no version."""
        try:
            return call(label)
        except LabelNotFound:
            if label != LABEL_CANARY or self.canary_fallback is None:
                raise
            return call(self.canary_fallback)

    def stylize(self, model: str, jpegs: list[bytes], version: int | None = None,
                label: str | None = None, style_controls: dict | None = None,
                timeout: float | None = None) -> tuple[list[bytes], int]:
        """Returns (stylized JPEGs, model version that answered); `timeout` shortens the
        deadline (a live frame is worthless after a second or two)."""
        return self._labelled(lambda chosen: self._stylize(model, jpegs, version, chosen,
                                                            style_controls, timeout), label)

    def _stylize(self, model: str, jpegs: list[bytes], version: int | None, label: str | None,
                 style_controls: dict | None, timeout: float | None) -> tuple[list[bytes], int]:
        start, answered, outcome = time.perf_counter(), version, "ok"
        try:
            jpegs, answered = self._call(
                lambda t: self.server.stylize(model, jpegs, version, label, t, style_controls),
                timeout or self.timeout, f"model {model!r}")
            saw_label(model, label, answered)
            return jpegs, answered
        except GatewayError as e:
            # No canary right now is no failure of a version: the fallback answers it.
            outcome = None if isinstance(e, LabelNotFound) else type(e).__name__
            raise
        finally:
            if outcome:
                seen = str(answered or "")
                PREDICT_LATENCY.labels(model, seen).observe(time.perf_counter() - start)
                PREDICTIONS.labels(model, seen, label or "", outcome).inc()

    def embed(self, model: str, paintings: list[bytes], version: int | None = None,
              label: str | None = None) -> tuple[list[list[float]], int]:
        return self._labelled(lambda chosen: self._call(
            lambda t: self.server.embed(model, paintings, version, chosen, t),
            self.timeout, f"model {model!r}"), label)

    def style_names(self, model: str, version: int | None = None,
                    label: str | None = None) -> tuple[list[str], int]:
        return self._labelled(lambda chosen: self._style_names(model, version, chosen), label)

    def _style_names(self, model: str, version: int | None,
                     label: str | None) -> tuple[list[str], int]:
        """A multi-style model's paintings and the version that named them, remembered for
        NAMES_TTL seconds: asking on every request would double the Predicts."""
        key, now = (model, version, label), time.monotonic()
        cached = self._names.get(key)
        if cached and now - cached[0] < NAMES_TTL:
            if isinstance(cached[1], BadParameter):
                raise cached[1]
            return cached[1]
        try:
            answer = self._call(lambda t: self.server.style_names(model, version, label, t),
                                self.status_timeout, f"model {model!r}")
        except BadParameter as e:  # not loaded: remembered too, tried on every request else
            self._names[key] = (now, e)
            raise
        self._names[key] = (now, answer)
        saw_label(model, label, answer[1])
        return answer

    def versions(self, style: str) -> list[VersionStatus]:
        states = self._call(lambda t: self.server.versions(style, timeout=t),
                            self.status_timeout, f"style {style!r}")
        return [VersionStatus(v, s) for v, s in sorted(states.items())]


def init_app(app: Flask) -> None:
    app.extensions["model_client"] = ModelClient(
        app.config["MODEL_SERVER"], app.config["PREDICT_TIMEOUT"],
        app.config["STATUS_TIMEOUT"], app.config["PREDICT_RETRIES"],
        app.config["DEFAULT_LABEL"] or None)


def get_client() -> ModelClient:
    return current_app.extensions["model_client"]
