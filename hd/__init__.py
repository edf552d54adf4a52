"""The HD worker: refines a fast network's picture with the optimisation-based algorithm
(Gatys et al. 2015), as jobs whose progress a page watches. An internal service: the
gateway checks every upload and forwards it (gateway/hd_proxy.py); nothing public talks
to it directly.

    POST   /jobs              multipart photo, start, style (names of paintings in
                              HD_PAINTINGS_DIR, a mix a:0.7,b:0.3) and/or painting files,
                              iterations, size, preserve_colors -> 202 {job}; 429 when full
    GET    /jobs/<id>         {state, step, iterations, eta_s, losses, note, has_picture}
    GET    /jobs/<id>/picture the latest picture (JPEG)
    DELETE /jobs/<id>         cancel: frees the slot at the next step
    GET    /paintings         {paintings: the names a style may use}
    GET    /healthz, /metrics

Settings: HD_* environment variables (hd/jobs.py's HDConfig: HD_MAX_RUNNING,
HD_TIME_LIMIT, HD_ABANDON_AFTER, HD_KEEP_RESULTS, HD_PAINTINGS_DIR, ...).
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from flask import Flask, Response, jsonify, request
from PIL import Image, UnidentifiedImageError
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from hd.jobs import Full, HDConfig, JobBoard, UnknownJob

SUBMITTED = Counter("hd_jobs_total", "HD jobs submitted, by answer", ["answer"])
RUNNING = Gauge("hd_jobs_running", "HD jobs running now")
MAX_PIXELS = 20_000_000


class BadJob(Exception):
    pass


def config_from_env(env=os.environ) -> HDConfig:
    values = {}
    for f in dataclasses.fields(HDConfig):
        raw = env.get(f"HD_{f.name.upper()}")
        if raw is not None:
            values[f.name] = Path(raw) if f.name == "paintings_dir" else type(f.default)(raw)
    return HDConfig(**values)


def _image(upload, where: Path) -> Path:
    """Saves an upload after checking it decodes (the gateway checked it fully)."""
    try:
        with Image.open(upload.stream) as img:
            if img.width * img.height > MAX_PIXELS:
                raise BadJob(f"{upload.filename or upload.name}: too many pixels")
            img.convert("RGB").save(where)
    except (UnidentifiedImageError, OSError) as e:
        raise BadJob(f"{upload.name}: not a readable image ({e})") from None
    return where


def named_paintings(cfg: HDConfig) -> dict[str, Path]:
    """The paintings a `style` may name: HD_PAINTINGS_DIR's images by their stem. The
    optimisation needs the painting itself; a worker without the folder (a clone with no
    paintings beside it) paints only the ones sent with the job."""
    if not cfg.paintings_dir or not cfg.paintings_dir.is_dir():
        return {}
    images = Image.registered_extensions()
    return {p.stem: p for p in sorted(cfg.paintings_dir.iterdir())
            if p.is_file() and p.suffix.lower() in images}


def _paintings(form, files, cfg: HDConfig, tmp: Path) -> list[tuple[Path, float]]:
    paintings, named = [], named_paintings(cfg)
    for part in filter(None, (p.strip() for p in form.get("style", "").split(","))):
        name, _, weight = part.partition(":")
        found = named.get(name)
        if found is None:
            raise BadJob(f"no painting {name!r} for HD on this worker")
        paintings.append((found, float(weight or 1)))
    for i, upload in enumerate(files.getlist("painting")):
        paintings.append((_image(upload, tmp / f"painting{i}.png"), 1.0))
    if not paintings:
        raise BadJob("name a style or send a painting")
    return paintings


def _job_request(form, files, cfg: HDConfig, tmp: Path) -> tuple:
    """A POST /jobs form as JobBoard.submit's arguments (photo, start, paintings,
    iterations, side, preserve_colors), clamped to the worker's limits."""
    if "photo" not in files:
        raise BadJob("no photo")
    photo = _image(files["photo"], tmp / "photo.png")
    start = _image(files["start"], tmp / "start.png") if "start" in files else photo
    paintings = _paintings(form, files, cfg, tmp)
    iterations = min(int(form.get("iterations") or cfg.default_iterations), cfg.max_iterations)
    side = min(int(form.get("size") or cfg.max_side), cfg.max_side)
    keep = form.get("preserve_colors", "") in ("1", "true", "on", "yes")
    return photo, start, paintings, max(1, iterations), max(16, side), keep


def create_app(cfg: HDConfig | None = None) -> Flask:
    app = Flask(__name__)
    board = JobBoard(cfg or config_from_env())
    app.extensions["hd_board"] = board

    @app.post("/jobs")
    def submit():
        work = tempfile.TemporaryDirectory(prefix="hd-")
        tmp = Path(work.name)
        try:
            job = board.submit(*_job_request(request.form, request.files, board.cfg, tmp), work)
        except (BadJob, ValueError) as e:
            work.cleanup()
            SUBMITTED.labels("400").inc()
            return jsonify(error=str(e)), 400
        except Full as e:
            work.cleanup()
            SUBMITTED.labels("429").inc()
            response = jsonify(error=str(e))
            response.headers["Retry-After"] = str(e.retry_after)
            return response, 429
        SUBMITTED.labels("202").inc()
        return jsonify(job.status(board.cfg.time_limit)), 202

    @app.get("/jobs/<job_id>")
    def status(job_id):
        return jsonify(board.get(job_id).status(board.cfg.time_limit))

    @app.get("/jobs/<job_id>/picture")
    def picture(job_id):
        job = board.get(job_id)
        if not job.picture:
            return jsonify(error="no picture yet"), 409
        return Response(job.picture, mimetype="image/jpeg")

    @app.delete("/jobs/<job_id>")
    def cancel(job_id):
        return jsonify(board.cancel(job_id).status(board.cfg.time_limit))

    @app.errorhandler(UnknownJob)
    def unknown(e):
        return jsonify(error="unknown job: it finished long ago, or the HD worker restarted; "
                             "start it again"), 404

    @app.get("/paintings")
    def paintings():
        return jsonify(paintings=list(named_paintings(board.cfg)))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", running=len(board.running()), slots=board.cfg.max_running)

    @app.get("/metrics")
    def metrics():
        RUNNING.set(len(board.running()))
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return app
