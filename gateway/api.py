"""The JSON API: /api/v1/styles, /api/v1/stylize, /api/v1/frames (live camera),
/api/v1/embeddings, /api/v1/previews, /api/v1/openapi.json."""
from __future__ import annotations

import base64
import zlib

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from gateway.catalogue import Catalogue
from gateway.edge import client_address
from gateway.errors import (
    BadParameter,
    GatewayError,
    LiveFull,
    ModelServerTimeout,
    ModelServerUnavailable,
)
from gateway.hd_proxy import worker_paintings
from gateway.images import UploadLimits, prepare_image, resized_jpeg, stroke_scaled
from gateway.metrics import IMAGE_PIXELS, UPLOAD_BYTES
from gateway.model_client import get_client
from gateway.openapi import openapi_document
from gateway.own_paintings import EmbeddingCache, embed_uploads
from gateway.paint_request import (
    arbitrary_model,
    parse_flag,
    parse_strength,
    parse_stroke_size,
    resolve,
    resolve_own,
)
from serving.contract import LABEL_CANARY
from serving.predict_request import controls

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


def _version_and_label() -> tuple[int | None, str | None]:
    version = _int_param("version", None, 1, 2**62)
    label = request.form.get("label", "").strip() or None
    if version and label:
        raise BadParameter("give either version or label, not both")
    if not version and not label:
        label = LABEL_CANARY if _in_canary_share() else current_app.config["DEFAULT_LABEL"] or None
    return version, label


def _in_canary_share() -> bool:
    """Whether this client is one of the CANARY_SHARE sent to the `canary` label (while a
    model has one; its default label otherwise). Sticky: a client's address decides, so a
    person sees one version, not a mix, and a canary's numbers come from whole sessions."""
    share = float(current_app.config["CANARY_SHARE"])
    return share > 0 and zlib.crc32(client_address().encode()) % 10_000 < share * 10_000


def _upload(max_side: int):
    upload = request.files.get("image")
    data = upload.read() if upload else b""
    UPLOAD_BYTES.observe(len(data))
    image = prepare_image(data, upload.mimetype if upload else None, max_side,
                          UploadLimits(current_app.config["MAX_PIXELS"]))
    IMAGE_PIXELS.observe(image.width * image.height / 1e6)
    return image


def _model_status(client, model: str) -> tuple[list[int], GatewayError | None]:
    """The AVAILABLE versions of `model`, and the error if the server did not answer."""
    try:
        versions = client.versions(model)
    except GatewayError as e:
        return [], e
    return [v.version for v in versions if v.state == "AVAILABLE"], None


@bp.get("/styles")
def styles():
    """The paintings the gallery offers (a multi-style model's paintings first, then the
    single-style models it does not cover; each says whether HD can refine it) and every
    model with its loaded versions."""
    client, catalogue = get_client(), current_app.config["CATALOGUE"]
    label = current_app.config["DEFAULT_LABEL"] or None
    models, gallery, server_down = [], {}, False
    for name in [*catalogue.multi_style, *catalogue.single_style]:
        versions, error = ([], None) if server_down else _model_status(client, name)
        server_down = server_down or isinstance(error, (ModelServerUnavailable, ModelServerTimeout))
        multi = name in catalogue.multi_style
        paintings = []
        if multi and versions:
            try:
                paintings = client.style_names(name, label=label)[0]
            except GatewayError:
                paintings = []
        models.append({"name": name, "multi_style": multi, "versions": versions,
                       "available": bool(versions), **({"paintings": paintings} if multi else {})})
        for painting in paintings if multi else [name]:
            if painting not in gallery:
                gallery[painting] = _gallery_entry(catalogue.painting(painting), name, multi,
                                                   versions, catalogue)
    for name in catalogue.arbitrary:
        versions, _ = ([], None) if server_down else _model_status(client, name)
        models.append({"name": name, "arbitrary": True, "versions": versions,
                       "available": bool(versions)})
        for painting in catalogue.embeddings:
            gallery.setdefault(painting, _gallery_entry(catalogue.painting(painting), name, True,
                                                        versions, catalogue))
    hd_paintings = worker_paintings()
    for entry in gallery.values():
        entry["hd"] = entry["name"] in hd_paintings
    return jsonify(styles=list(gallery.values()), models=models,
                   hd=bool(current_app.config["HD_WORKER"]))


def _gallery_entry(style, model: str, multi: bool, versions: list[int],
                   catalogue: Catalogue) -> dict:
    return {"name": style.name, "title": style.title, "artist": style.artist,
            "year": style.year, "licence": style.licence, "model": model,
            "controls": multi, "versions": versions, "available": bool(versions),
            "stroke_size": catalogue.stroke_size(model, {style.name: 1.0}),
            "thumbnail": url_for("static", filename=style.thumbnail) if style.thumbnail else None}


@bp.post("/stylize")
def stylize():
    cfg = current_app.config
    return _painted(_int_param("max_side", cfg["DEFAULT_MAX_SIDE"], 16, cfg["HARD_MAX_SIDE"]),
                    cfg["HARD_MAX_SIDE"])


@bp.post("/frames")
def frames():
    """A live camera frame: /stylize's fields, small (LIVE_SIDE by default, LIVE_MAX_SIDE at
    most) with a short deadline, on at most LIVE_MAX_IN_FLIGHT threads so that live viewers
    leave the others to photos (503 beyond; its own per-client rate limit, gateway/edge.py)."""
    cfg = current_app.config
    if request.files.getlist("style_image"):
        raise BadParameter("frames take style or style_embedding (POST /api/v1/embeddings "
                           "once, then send its id), not style_image")
    max_side = _int_param("max_side", cfg["LIVE_SIDE"], 16, cfg["LIVE_MAX_SIDE"])
    slots = current_app.extensions["live_slots"]
    if not slots.acquire(blocking=False):
        raise LiveFull("live mode is at capacity on this server; try again in a second")
    try:
        return _painted(max_side, cfg["LIVE_MAX_SIDE"], cfg["LIVE_PREDICT_TIMEOUT"])
    finally:
        slots.release()


def _painted(max_side: int, paint_max_side: int, timeout: float | None = None) -> Response:
    """The uploaded `image` painted as the form asks, as a JPEG response. Stroke size is
    done here, not in the SavedModel: it is the size the model paints at, which any
    client can choose, and a new signature input would be one every client of every
    exported version must send (TF Serving requires them all)."""
    cfg = current_app.config
    version, label = _version_and_label()
    own = request.files.getlist("style_image")
    if own or request.form.get("style_embedding", "").strip():
        if request.form.get("style", "").strip() or (own and request.form.get("style_embedding")):
            raise BadParameter("give one of style, style_embedding or style_image")
        form = _embedded(own, version, label) if own else request.form
        paint = resolve_own(form, cfg["CATALOGUE"], _embedding_cache(), version)
        g.style = "own"  # a metric label per uploaded painting would grow without bound
    else:
        paint = resolve(request.form, cfg["CATALOGUE"], get_client(), version, label)
        g.style = paint.style if len(paint.mix) == 1 else "mix"
    stroke_size = parse_stroke_size(request.form.get("stroke_size", ""),
                                    cfg["CATALOGUE"].stroke_size(paint.model, paint.mix))
    image = _upload(max_side)
    sent = stroke_scaled(image, stroke_size, paint_max_side)
    jpegs, served_version = get_client().stylize(
        paint.model, [sent], paint.version, None if paint.version else label,
        paint.style_controls(), timeout)
    painted = jpegs[0] if sent is image.jpeg else resized_jpeg(jpegs[0], (image.width,
                                                                          image.height))
    response = Response(painted, mimetype="image/jpeg")
    response.headers["X-Style"] = paint.style
    response.headers["X-Model"] = paint.model
    response.headers["X-Model-Version"] = str(served_version)
    response.headers["X-Image-Size"] = f"{image.width}x{image.height}"
    response.headers["X-Stroke-Size"] = f"{stroke_size:g}"
    return response


@bp.post("/embeddings")
def embeddings():
    """Uploaded paintings (`painting`, up to MAX_PAINTINGS files) embedded by the
    arbitrary-style model, once each: the ids to give /stylize as `style_embedding`."""
    cfg = current_app.config
    model = arbitrary_model(request.form, cfg["CATALOGUE"])
    version, label = _version_and_label()
    g.style = "embeddings"
    embedded = embed_uploads(request.files.getlist("painting"), model, get_client(),
                             _embedding_cache(), UploadLimits(cfg["MAX_PIXELS"]), version, label)
    return jsonify(model=model, paintings=[{"id": p.id, "cached": p.cached} for p in embedded])


def _embedded(uploads: list, version: int | None, label: str | None) -> dict:
    """The request's fields with its `style_image` paintings embedded (cached) and named by
    id in `style_embedding`, weighted by `style_image_weights` (e.g. "0.7,0.3")."""
    cfg = current_app.config
    model = arbitrary_model(request.form, cfg["CATALOGUE"])
    embedded = embed_uploads(uploads, model, get_client(), _embedding_cache(),
                             UploadLimits(cfg["MAX_PIXELS"]), version, label)
    raw = request.form.get("style_image_weights", "").strip()
    weights = [w.strip() for w in raw.split(",")] if raw else ["1"] * len(embedded)
    if len(weights) != len(embedded):
        raise BadParameter(f"style_image_weights has {len(weights)} weights for "
                           f"{len(embedded)} style_image files")
    mix = ",".join(f"{p.id}:{w}" for p, w in zip(embedded, weights, strict=True))
    return {**request.form.to_dict(), "model": model, "style_embedding": mix}


def _embedding_cache() -> EmbeddingCache:
    return current_app.extensions["embedding_cache"]


@bp.post("/previews")
def previews():
    """The photo in every painting of a multi-style model, small, in one batched Predict."""
    cfg, catalogue, client = current_app.config, current_app.config["CATALOGUE"], get_client()
    side = _int_param("side", cfg["PREVIEW_SIDE"], 16, cfg["PREVIEW_MAX_SIDE"])
    model = request.form.get("model", "").strip() or next(iter(catalogue.multi_style), "")
    if model not in catalogue.multi_style:
        raise BadParameter(f"previews need a multi-style model; {model or 'none'!r} is not "
                           f"one (the catalogue has: {', '.join(catalogue.multi_style) or 'none'})")
    version, label = _version_and_label()
    strength = parse_strength(request.form.get("strength", ""))
    keep = parse_flag("preserve_colors", request.form.get("preserve_colors", ""))
    names, served = client.style_names(model, version, label)
    g.style = "previews"
    image = _upload(side)
    one_hot = [[float(i == j) for j in range(len(names))] for i in range(len(names))]
    style_controls = controls(one_hot, [strength] * len(names), [keep] * len(names))
    jpegs, served = client.stylize(model, [image.jpeg] * len(names), served, None,
                                   style_controls)
    return jsonify(model=model, version=served, width=image.width, height=image.height,
                   previews=[{"style": name, "image": "data:image/jpeg;base64,"
                              + base64.b64encode(jpeg).decode()}
                             for name, jpeg in zip(names, jpegs, strict=True)])


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config))
