"""Prometheus metrics of the gateway (one process per pod: gunicorn runs one worker with
threads, so the default registry sees every request)."""
import threading

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("gateway_requests_total", "HTTP requests", ["route", "style", "status"])
REQUEST_LATENCY = Histogram("gateway_request_seconds", "whole request latency", ["route"],
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32))
# Per model *version*, which TF Serving's own metrics lack and a canary is judged by:
# `version` is the version that answered (or the one asked for, when none did), `label`
# the label asked for ("" when the request was pinned to a version), `outcome` ok or the
# error's class (ModelServerTimeout, ModelServerUnavailable, BadParameter).
PREDICT_LATENCY = Histogram("gateway_predict_seconds", "gRPC Predict latency",
                            ["model", "version"],
                            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32))
PREDICTIONS = Counter("gateway_predictions_total", "gRPC Predicts of a stylization",
                      ["model", "version", "label", "outcome"])
IMAGE_PIXELS = Histogram("gateway_image_megapixels", "megapixels sent to the model",
                         buckets=(0.06, 0.25, 0.5, 1, 2, 4))
UPLOAD_BYTES = Histogram("gateway_upload_bytes", "size of uploads",
                         buckets=(1e4, 1e5, 5e5, 1e6, 5e6, 2e7))
RATE_LIMITED = Counter("gateway_rate_limited_total", "requests refused by the per-client rate limit",
                       ["route"])
EMBEDDING_CACHE = Counter("gateway_embedding_cache_total",
                          "uploaded paintings looked up in the embedding cache", ["result"])

# What the alerts need beside requests: a model with no AVAILABLE version (set by each
# readiness check), and which version each label names (so that a canary's series can be
# told from stable's: gateway_predictions_total * on(model, version) group_left(label)
# gateway_version_label_info).
MODEL_AVAILABLE_VERSIONS = Gauge("gateway_model_available_versions",
                                 "AVAILABLE versions of each catalogue model at the last readiness check",
                                 ["model"])
VERSION_LABEL = Gauge("gateway_version_label_info",
                      "1 for the version a label named when the gateway last used it",
                      ["model", "label", "version"])
_labelled: dict[tuple[str, str], str] = {}
_labelled_lock = threading.Lock()


def saw_label(model: str, label: str | None, version: int) -> None:
    """Records that `label` of `model` named `version` (the old version's series goes)."""
    if not label or not version:
        return
    with _labelled_lock:
        before = _labelled.get((model, label))
        if before == str(version):
            return
        if before is not None:
            VERSION_LABEL.remove(model, label, before)
        _labelled[model, label] = str(version)
        VERSION_LABEL.labels(model, label, str(version)).set(1)
