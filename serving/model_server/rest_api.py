"""The REST paths of TF Serving that probes and curl use.

    GET  /v1/models/<name>[/versions/<n>|/labels/<l>]            model status
    POST /v1/models/<name>[/versions/<n>|/labels/<l>]:predict    {"instances"|"inputs": ...}
    GET  <monitoring path>                                        Prometheus metrics

Binary values travel as {"b64": "..."}; outputs whose alias ends in `_bytes` come back
the same way, as TF Serving does.
"""
from __future__ import annotations

import base64
import re
import time

import numpy as np
from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.model_server.errors import LOAD_FAILURE, InvalidArgument, NotFound, ServingError
from serving.model_server.metrics import record_predict
from serving.model_server.registry import ModelRegistry

_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
                   r"(?P<verb>:predict)?$")


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _encode(alias: str, array: np.ndarray):
    if array.dtype == object and alias.endswith("_bytes"):
        return [{"b64": base64.b64encode(v).decode()} for v in array.ravel()]
    return array.tolist()


def _inputs(body: dict) -> tuple[dict, bool]:
    """Returns ({alias: array} or one unnamed array, row format?) from a predict body."""
    if "instances" in body:
        rows = _decode(body["instances"])
        if rows and isinstance(rows[0], dict):
            return {k: np.array([r[k] for r in rows]) for k in rows[0]}, True
        return np.array(rows), True
    if "inputs" in body:
        inputs = _decode(body["inputs"])
        return ({k: np.array(v) for k, v in inputs.items()} if isinstance(inputs, dict)
                else np.array(inputs)), False
    raise InvalidArgument('request body must have "instances" or "inputs"')


def create_rest_app(registry: ModelRegistry, metrics_path: str | None = None) -> Flask:
    app = Flask("model_server_rest")

    @app.errorhandler(ServingError)
    def serving_error(e: ServingError):
        return jsonify(error=str(e)), e.http_status

    @app.get("/v1/models/<path:rest>")
    def status(rest):
        m = _PATH.match(rest)
        if not m or m["verb"]:
            raise NotFound(f"unknown path /v1/models/{rest}")
        version = int(m["version"]) if m["version"] else None
        rows = registry.statuses(m["name"], version, m["label"])
        return jsonify(model_version_status=[
            {"version": str(v), "state": state,
             "status": {"error_code": LOAD_FAILURE if msg else "OK", "error_message": msg}}
            for v, state, msg in rows])

    @app.post("/v1/models/<path:rest>")
    def predict(rest):
        m = _PATH.match(rest)
        if not m or not m["verb"]:
            raise NotFound(f"unknown path /v1/models/{rest}")
        start, code = time.perf_counter(), "OK"
        try:
            return _predict(m)
        except ServingError as e:
            code = e.code
            raise
        finally:
            record_predict(m["name"], "REST", code, time.perf_counter() - start)

    def _predict(m):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidArgument("request body must be a JSON object")
        inputs, rows = _inputs(body)
        _, _, outputs = registry.predict(m["name"], int(m["version"]) if m["version"] else None,
                                         m["label"], body.get("signature_name", ""), inputs)
        encoded = {k: _encode(k, v) for k, v in outputs.items()}
        if rows:
            columns = list(zip(*encoded.values(), strict=True))
            predictions = (next(iter(encoded.values())) if len(encoded) == 1 else
                           [dict(zip(encoded, vals, strict=True)) for vals in columns])
            return jsonify(predictions=predictions)
        return jsonify(outputs=next(iter(encoded.values())) if len(encoded) == 1 else encoded)

    if metrics_path:
        @app.get(metrics_path)
        def metrics():
            return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return app
