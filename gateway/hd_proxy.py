"""HD on the site: "Refine in HD" optimises a fast picture further (the HD worker, hd/).

The gateway stays the only public door: it checks the photo, the picture to start from
and any painting of the visitor's own like every upload, forwards them to the worker
(GATEWAY_HD_WORKER, its URL; empty = HD not offered) and relays the worker's answers:

    POST   /api/v1/hd              image, start, style or painting(s), iterations,
                                   max_side, preserve_colors -> 202 {job}; 429 when full
    GET    /api/v1/hd/<id>         progress {state, step, iterations, eta_s, losses, note}
    GET    /api/v1/hd/<id>/picture the latest picture
    DELETE /api/v1/hd/<id>         cancel

/api/v1/styles says which gallery paintings the worker holds (`hd` on each style): the
optimisation needs the painting itself, not a network trained on it.
"""
from __future__ import annotations

import re

import requests
from flask import Blueprint, Response, current_app, request

from gateway.errors import BadParameter, GatewayError, ModelServerUnavailable
from gateway.images import UploadLimits, prepare_image
from gateway.own_paintings import MAX_PAINTINGS
from gateway.paint_request import parse_flag, parse_mix

bp = Blueprint("hd", __name__, url_prefix="/api/v1/hd")
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
HD_PAINTING_SIDE = 1024  # the worker compares Gram matrices of the painting at 512 px


class NotOffered(GatewayError):
    status = 404


def _worker() -> str:
    url = current_app.config["HD_WORKER"].rstrip("/")
    if not url:
        raise NotOffered("HD is not offered on this site")
    return url


def worker_paintings() -> set[str]:
    """The paintings a style may name for HD: none when HD is not offered or the worker
    does not answer (the page then offers HD only for the visitor's own paintings)."""
    url = current_app.config["HD_WORKER"].rstrip("/")
    if not url:
        return set()
    try:
        answer = requests.get(url + "/paintings", timeout=2)
        answer.raise_for_status()
        return set(answer.json()["paintings"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return set()


def _relay(method: str, path: str, **kwargs) -> Response:
    try:
        answer = requests.request(method, _worker() + path, timeout=15, **kwargs)
    except requests.RequestException:
        raise ModelServerUnavailable("the HD worker is unavailable; try again shortly") from None
    if answer.status_code == 400:  # what the gateway could not check (a painting it lacks)
        raise BadParameter(answer.json().get("error", "the HD worker refused the job"))
    response = Response(answer.content, status=answer.status_code,
                        mimetype=answer.headers.get("Content-Type", "application/json"))
    if "Retry-After" in answer.headers:
        response.headers["Retry-After"] = answer.headers["Retry-After"]
    return response


def _checked(upload, side: int) -> bytes:
    data = upload.read() if upload else b""
    return prepare_image(data, upload.mimetype if upload else None, side,
                         UploadLimits(current_app.config["MAX_PIXELS"])).jpeg


def _job_path(job_id: str) -> str:
    if not JOB_ID.match(job_id):
        raise BadParameter("malformed HD job id")
    return f"/jobs/{job_id}"


@bp.post("")
def submit():
    cfg = current_app.config
    _worker()
    side = min(int(request.form.get("max_side") or cfg["HD_MAX_SIDE"]), cfg["HD_MAX_SIDE"])
    style = request.form.get("style", "").strip()
    if style:
        parse_mix(style)  # the syntax; the worker knows which paintings it holds
    own = request.files.getlist("painting")
    if not style and not own:
        raise BadParameter("name a style or send your painting(s)")
    if len(own) > MAX_PAINTINGS:
        raise BadParameter(f"at most {MAX_PAINTINGS} paintings per request, got {len(own)}")
    # None asked: the worker's default (hd/jobs.py), enough for a refine to converge.
    iterations = request.form.get("iterations", "").strip()
    if iterations and (not iterations.isdigit() or not 1 <= int(iterations) <= 1000):
        raise BadParameter(f"iterations must be 1..1000, got {iterations!r}")
    files = [("photo", ("photo.jpg", _checked(request.files.get("image"), side), "image/jpeg"))]
    if "start" in request.files:
        files.append(("start", ("start.jpg", _checked(request.files["start"], side), "image/jpeg")))
    files += [("painting", (f"painting{i}.jpg", _checked(p, HD_PAINTING_SIDE), "image/jpeg"))
              for i, p in enumerate(own)]
    keep = parse_flag("preserve_colors", request.form.get("preserve_colors", ""))
    return _relay("POST", "/jobs", files=files, data={
        "style": style, "iterations": iterations, "size": side,
        "preserve_colors": "true" if keep else "false"})


@bp.get("/<job_id>")
def status(job_id):
    return _relay("GET", _job_path(job_id))


@bp.get("/<job_id>/picture")
def picture(job_id):
    return _relay("GET", _job_path(job_id) + "/picture")


@bp.delete("/<job_id>")
def cancel(job_id):
    return _relay("DELETE", _job_path(job_id))
