# gunicorn settings for the gateway; GATEWAY_* variables configure the app itself.
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")
# One process with threads: the work is waiting on gRPC, one gRPC channel is shared, and
# Prometheus metrics stay in one registry. Scale with more pods (the HPA), not workers.
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Longer than the gateway's Predict deadline, so gRPC times out first with a clean 504.
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
