"""Locust: Predicts straight to a model server over gRPC (TF Serving or ours), through the
project's one client (serving/client.py).

  locust -f ops/locustfiles/grpc_predict.py --host 127.0.0.1:8500 --headless \\
      --users 4 --spawn-rate 4 --run-time 60s --csv reports/grpc --html reports/grpc.html

Environment: STYLE (the model, starry_night), LABEL (stable), SIZE (512), PHOTOS (a
folder), LOCUST_ALLOW_REMOTE=1. Locust runs users as gevent greenlets: gRPC is told so
before any channel exists, or its calls would block every user at once.
"""
import os
import time

import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()

import grpc  # noqa: E402 (after init_gevent, as gRPC asks)
from locust import User, constant, events, task  # noqa: E402

from ops.locustfiles.common import STYLE, guard_loopback, photos  # noqa: E402
from serving.client import ModelServerClient  # noqa: E402

LABEL = os.environ.get("LABEL", "stable") or None
events.init.add_listener(guard_loopback)


class PredictUser(User):
    wait_time = constant(0)

    def on_start(self):
        self.client = ModelServerClient(self.host, timeout=60)
        self.photos = photos()

    @task
    def predict(self):
        start, error, size = time.perf_counter(), None, 0
        try:
            images, _ = self.client.stylize(STYLE, [next(self.photos)], label=LABEL)
            size = len(images[0])
        except grpc.RpcError as e:
            error = Exception(f"{e.code().name}: {e.details()}")
        self.environment.events.request.fire(
            request_type="gRPC", name=f"Predict {STYLE}", response_time=(time.perf_counter() - start) * 1000,
            response_length=size, exception=error, context={})
