"""Prometheus metrics of the development model server (served per monitoring.config)."""
from prometheus_client import Counter, Histogram

REQUESTS = Counter("model_server_requests_total", "gRPC requests", ["method", "code"])
REQUEST_LATENCY = Histogram("model_server_request_seconds", "gRPC request latency", ["method"],
                            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
