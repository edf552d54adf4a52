"""The JSON API: /api/v1/styles, /api/v1/stylize, /api/v1/openapi.json."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from gateway.errors import BadParameter, GatewayError, ModelServerTimeout, ModelServerUnavailable
from gateway.images import UploadLimits, prepare_image
from gateway.metrics import IMAGE_PIXELS, UPLOAD_BYTES
from gateway.model_client import get_client
from gateway.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _int_param(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {value}")
    return value


def _style_param() -> str:
    style = request.form.get("style", "").strip()
    if not style:
        raise BadParameter("missing parameter 'style'; GET /api/v1/styles lists them")
    if style not in current_app.config["CATALOGUE"]:
        raise BadParameter(f"unknown style {style!r}; GET /api/v1/styles lists them")
    return style


@bp.get("/styles")
def styles():
    client, catalogue = get_client(), current_app.config["CATALOGUE"]
    result, server_down = [], False
    for style in catalogue.values():
        try:
            versions = [] if server_down else client.versions(style.name)
        except (ModelServerUnavailable, ModelServerTimeout):
            versions, server_down = [], True
        except GatewayError:
            versions = []
        available = [v.version for v in versions if v.state == "AVAILABLE"]
        result.append({"name": style.name, "title": style.title, "artist": style.artist,
                       "year": style.year, "licence": style.licence,
                       "versions": available, "available": bool(available)})
    return jsonify(styles=result)


@bp.post("/stylize")
def stylize():
    upload = request.files.get("image")
    style = g.style = _style_param()
    cfg = current_app.config
    max_side = _int_param("max_side", cfg["DEFAULT_MAX_SIDE"], 16, cfg["HARD_MAX_SIDE"])
    version = _int_param("version", None, 1, 2**62)
    label = request.form.get("label", "").strip() or None
    if version and label:
        raise BadParameter("give either version or label, not both")
    if not version and not label:
        label = cfg["DEFAULT_LABEL"] or None
    data = upload.read() if upload else b""
    UPLOAD_BYTES.observe(len(data))
    image = prepare_image(data, upload.mimetype if upload else None, max_side,
                          UploadLimits(cfg["MAX_PIXELS"]))
    IMAGE_PIXELS.observe(image.width * image.height / 1e6)
    jpeg, served_version = get_client().stylize(style, image.jpeg, version, label)
    response = Response(jpeg, mimetype="image/jpeg")
    response.headers["X-Style"] = style
    response.headers["X-Model-Version"] = str(served_version)
    response.headers["X-Image-Size"] = f"{image.width}x{image.height}"
    return response


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["HARD_MAX_SIDE"],
                                    current_app.config["DEFAULT_MAX_SIDE"]))
