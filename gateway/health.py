"""Probes and metrics: /healthz (alive), /readyz (can serve a style), /metrics."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.errors import GatewayError, ModelServerTimeout, ModelServerUnavailable
from gateway.metrics import MODEL_AVAILABLE_VERSIONS
from gateway.model_client import get_client

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready when the model server answers and at least one style is AVAILABLE (a model
    that is still LOADING does not count)."""
    client = get_client()
    available, last_error = [], "no styles in the catalogue"
    counts = dict.fromkeys(current_app.config["CATALOGUE"].models, 0)
    for name in counts:
        try:
            counts[name] = sum(v.state == "AVAILABLE" for v in client.versions(name))
            if counts[name]:
                available.append(name)
        except (ModelServerUnavailable, ModelServerTimeout) as e:
            last_error = e.message
            break  # the server is down: asking about the other styles only takes longer
        except GatewayError as e:
            last_error = e.message
    for name, count in counts.items():  # a model not asked about (server down) counts 0
        MODEL_AVAILABLE_VERSIONS.labels(name).set(count)
    if not available:
        raise ModelServerUnavailable(f"not ready: {last_error}")
    return jsonify(status="ready", styles=available)


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
