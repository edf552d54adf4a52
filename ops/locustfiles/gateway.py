"""Locust: photos uploaded to the gateway as the page does (POST /api/v1/stylize), or live
camera frames (LIVE=1: POST /api/v1/frames at SIZE 320).

  locust -f ops/locustfiles/gateway.py --host http://127.0.0.1:8080 --headless \\
      --users 4 --spawn-rate 4 --run-time 60s --csv reports/gateway --html reports/gateway.html

Each user sends back to back (a closed loop, as `loadtest --concurrency`). Environment:
STYLE (starry_night), SIZE (512), PHOTOS (a folder), LIVE=1, LOCUST_ALLOW_REMOTE=1.
"""
import os

from locust import HttpUser, constant, events, task

from ops.locustfiles.common import SIZE, STYLE, guard_loopback, photos

ROUTE = "/api/v1/frames" if os.environ.get("LIVE") == "1" else "/api/v1/stylize"
events.init.add_listener(guard_loopback)


class PhotoUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.photos = photos()

    @task
    def stylize(self):
        files = {"image": ("photo.jpg", next(self.photos), "image/jpeg")}
        data = {"style": STYLE, "max_side": str(SIZE)}
        with self.client.post(ROUTE, files=files, data=data, name=ROUTE,
                              catch_response=True) as response:
            if response.status_code != 200:
                try:
                    reason = response.json().get("error", "")
                except ValueError:
                    reason = response.text[:200]
                response.failure(f"HTTP {response.status_code}: {reason}")
