"""Prometheus metrics of the gateway (one process per pod: gunicorn runs one worker with
threads, so the default registry sees every request)."""
from prometheus_client import Counter, Histogram

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
