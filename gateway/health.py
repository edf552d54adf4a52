"""Probes and metrics: /healthz (alive), /readyz (can serve a style), /metrics."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.errors import GatewayError, ModelServerTimeout, ModelServerUnavailable
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
    for name in current_app.config["CATALOGUE"].models:
        try:
            if any(v.state == "AVAILABLE" for v in client.versions(name)):
                available.append(name)
        except (ModelServerUnavailable, ModelServerTimeout) as e:
            last_error = e.message
            break  # the server is down: asking about the other styles only takes longer
        except GatewayError as e:
            last_error = e.message
    if not available:
        raise ModelServerUnavailable(f"not ready: {last_error}")
    return jsonify(status="ready", styles=available)


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
