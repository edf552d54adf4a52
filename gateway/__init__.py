"""The web gateway: a page and a JSON API that turn uploads into gRPC Predict calls."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from flask import Flask, g, request

from gateway import edge, model_client
from gateway.catalogue import load_catalogue
from gateway.errors import register_error_handlers
from gateway.metrics import REQUEST_LATENCY, REQUESTS
from gateway.own_paintings import EmbeddingCache

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "MODEL_SERVER": "127.0.0.1:8500",      # host:port of the gRPC PredictionService
    "CATALOGUE_FILE": str(REPO_ROOT / "styles" / "catalogue.json"),
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,  # bytes per upload (413 above)
    "MAX_PIXELS": 50_000_000,              # decoded pixels per upload (413 above)
    "DEFAULT_MAX_SIDE": 1024,
    "HARD_MAX_SIDE": 2048,
    "PREVIEW_SIDE": 192,                   # long side of /api/v1/previews images by default
    "PREVIEW_MAX_SIDE": 512,
    "EMBEDDING_CACHE_SIZE": 1024,          # uploaded paintings' embeddings kept (LRU)
    "HD_WORKER": "",                       # URL of the HD worker (hd/); "" = no HD
    "HD_MAX_SIDE": 512,                    # long side of an HD picture
    "LIVE_SIDE": 320,                      # long side of a live camera frame by default
    "LIVE_MAX_SIDE": 384,
    "LIVE_MAX_IN_FLIGHT": 8,               # frames painted at once per process; keep it under
                                           # GUNICORN_THREADS so photos always find a thread
    "LIVE_PREDICT_TIMEOUT": 2.0,           # seconds: a later frame is worth more than a late one
    "LIVE_RATE_LIMIT": "30 per second",    # frames per client; "" turns it off
    "PREDICT_TIMEOUT": 30.0,               # seconds, gRPC deadline of one Predict
    "STATUS_TIMEOUT": 2.0,                 # seconds, gRPC deadline of GetModelStatus
    "PREDICT_RETRIES": 5,                  # retries on UNAVAILABLE (0.1 s doubling), in the deadline
    "DEFAULT_LABEL": "stable",             # version label asked for when a request names none
                                           # ("" = the newest loaded version)
    "CANARY_SHARE": 0.0,                   # share of clients (by address, sticky) sent to the
                                           # `canary` label while a model has one
    "STYLIZE_RATE_LIMIT": "60 per minute;5 per second",  # per client; "" turns it off
    "TRUSTED_PROXIES": "",                 # addresses/networks whose X-Forwarded-For is believed
    "RATELIMIT_STORAGE_URI": "memory://",  # per replica; redis://... shares limits (gateway/edge.py)
}


def create_app(test_config: dict | None = None) -> Flask:
    """App factory. Settings: DEFAULTS, then GATEWAY_* environment variables
    (GATEWAY_MODEL_SERVER=host:8500 ...), then `test_config`."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("GATEWAY")
    if test_config:
        app.config.from_mapping(test_config)
    app.config["CATALOGUE"] = load_catalogue(Path(app.config["CATALOGUE_FILE"]))

    from gateway import api, hd_proxy, health, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(hd_proxy.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    register_error_handlers(app)
    edge.init_app(app)
    model_client.init_app(app)
    app.extensions["embedding_cache"] = EmbeddingCache(int(app.config["EMBEDDING_CACHE_SIZE"]))
    app.extensions["live_slots"] = threading.BoundedSemaphore(int(app.config["LIVE_MAX_IN_FLIGHT"]))
    _count_requests(app)
    return app


def _count_requests(app: Flask) -> None:
    @app.before_request
    def start_timer():
        g.start = time.perf_counter()

    @app.after_request
    def record(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(route, g.get("style", ""), str(response.status_code)).inc()
        REQUEST_LATENCY.labels(route).observe(time.perf_counter() - g.get("start", time.perf_counter()))
        return response
