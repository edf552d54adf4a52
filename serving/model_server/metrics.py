"""Prometheus metrics of the development model server, under TF Serving's own names and
labels (tensorflow_serving/servables/tensorflow/util.cc, TensorFlow's "/tensorflow/serving/
request_count" with "/" made ":" by its Prometheus exporter), for what this server
implements: a dashboard or an alert written here reads the same series in the cluster.

- `:tensorflow:serving:request_count{model_name, status}`: Predicts, `status` the gRPC code
  name (OK, NOT_FOUND, INVALID_ARGUMENT...). prometheus_client would name a counter
  `..._total`, so this one is an untyped family with TF Serving's exact sample name.
- `:tensorflow:serving:request_latency{model_name, API, entrypoint}`: a histogram in
  microseconds with TF Serving's buckets (10 x 1.8^i, 33 of them); API "Predict",
  entrypoint "GRPC" or "REST".

Like TF Serving, nothing here is per model version (the gateway's metrics are).
"""
from __future__ import annotations

import threading
from collections import Counter

from prometheus_client import REGISTRY, Histogram, disable_created_metrics
from prometheus_client.core import Metric

disable_created_metrics()  # TF Serving exports no *_created series

REQUEST_COUNT_NAME = ":tensorflow:serving:request_count"
REQUEST_LATENCY = Histogram(
    ":tensorflow:serving:request_latency",
    "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
    ["model_name", "API", "entrypoint"], buckets=[10 * 1.8 ** i for i in range(33)])


class _RequestCount:
    """request_count as a collector: counts kept here, exposed under TF Serving's name."""

    def __init__(self):
        self._counts: Counter = Counter()
        self._lock = threading.Lock()

    def inc(self, model_name: str, status: str) -> None:
        with self._lock:
            self._counts[model_name, status] += 1

    def collect(self):
        family = Metric(REQUEST_COUNT_NAME, "The total number of requests.", "unknown")
        with self._lock:
            for (model_name, status), value in sorted(self._counts.items()):
                family.add_sample(REQUEST_COUNT_NAME,
                                  {"model_name": model_name, "status": status}, value)
        yield family


REQUEST_COUNT = _RequestCount()
REGISTRY.register(REQUEST_COUNT)


def record_predict(model_name: str, entrypoint: str, status: str, seconds: float) -> None:
    REQUEST_COUNT.inc(model_name, status)
    REQUEST_LATENCY.labels(model_name, "Predict", entrypoint).observe(seconds * 1e6)
