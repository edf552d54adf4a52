"""The HD worker's contract under load, on a real gunicorn process: bounded slots (429
with Retry-After), cancel and abandonment free a slot at once, a time limit, results kept
for a while, and a restart that forgets its jobs (404)."""
import io
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import requests
from PIL import Image

from local_stack.launch import free_port
from tests.conftest import write_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Worker:
    def __init__(self, tmp_path, **settings):
        self.port, self.tmp = free_port(), tmp_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                    "HD_PAINTINGS_DIR": str(tmp_path / "paintings"), "HD_MAX_SIDE": "48",
                    "HD_PREVIEW_EVERY": "1", **{f"HD_{k.upper()}": str(v) for k, v in settings.items()}}
        write_image(tmp_path / "paintings" / "sunset.png", size=(64, 64), seed=4)
        self.photo = write_image(tmp_path / "photo.jpg", size=(48, 40), seed=2).read_bytes()

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "hd/gunicorn.conf.py", "hd.wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: a crash takes the worker along
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return self
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, "the HD worker did not start"
                time.sleep(0.3)

    def stop(self, sig=signal.SIGTERM) -> None:
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def submit(self, iterations=200):
        return requests.post(f"{self.url}/jobs", data={"style": "sunset", "iterations": iterations},
                             files={"photo": ("p.jpg", self.photo, "image/jpeg")}, timeout=30)

    def status(self, job_id):
        return requests.get(f"{self.url}/jobs/{job_id}", timeout=10)

    def wait(self, job_id, condition, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(job_id).json()
            if condition(body):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.2)


@pytest.fixture
def worker(tmp_path):
    w = Worker(tmp_path, max_running=1, abandon_after=4, keep_results=8, time_limit=60,
               default_iterations=4).start()
    yield w
    w.stop()


def test_one_slot_cancel_frees_it_and_pictures_follow_the_progress(worker):
    first = worker.submit()
    assert first.status_code == 202, first.text
    job = first.json()["id"]
    full = worker.submit()
    assert full.status_code == 429 and int(full.headers["Retry-After"]) >= 1
    body = worker.wait(job, lambda b: b["step"] >= 2 and b["has_picture"])
    assert body["state"] == "running" and body["eta_s"] is not None and body["losses"]["loss"] > 0
    picture = requests.get(f"{worker.url}/jobs/{job}/picture", timeout=10)
    assert Image.open(io.BytesIO(picture.content)).size == (48, 40)
    started = time.monotonic()
    assert requests.delete(f"{worker.url}/jobs/{job}", timeout=10).status_code == 200
    body = worker.wait(job, lambda b: b["state"] != "running", timeout=10)
    assert body["state"] == "cancelled" and time.monotonic() - started < 5
    assert worker.submit().status_code == 202  # the slot is free again


def test_an_abandoned_job_stops_and_results_expire(worker):
    job = worker.submit().json()["id"]
    # Nobody asks about it (a status request would keep it alive): abandoned after 4 s, it
    # stops at its next optimisation step (the first one builds VGG19: seconds under load).
    deadline = time.monotonic() + 40
    while requests.get(f"{worker.url}/healthz", timeout=5).json()["running"]:
        assert time.monotonic() < deadline, "the abandoned job kept its slot"
        time.sleep(0.5)
    second = worker.submit(iterations=3)
    assert second.status_code == 202, second.text
    assert "abandoned" in worker.status(job).json()["note"]
    body = worker.wait(second.json()["id"], lambda b: b["state"] == "done")
    assert body["step"] == body["iterations"] == 2  # two levels share 3 iterations: 1 each
    time.sleep(9)  # results are kept 8 s
    gone = worker.status(second.json()["id"])
    assert gone.status_code == 404 and "start it again" in gone.json()["error"]


def test_time_limit_keeps_the_picture_so_far(tmp_path):
    w = Worker(tmp_path, time_limit=4).start()
    try:
        job = w.submit(iterations=500).json()["id"]
        body = w.wait(job, lambda b: b["state"] != "running", timeout=30)
        assert body["state"] == "done" and "time limit" in body["note"] and body["has_picture"]
    finally:
        w.stop()


def test_a_restarted_worker_forgets_its_jobs_and_bad_input_is_400(worker):
    job = worker.submit().json()["id"]
    worker.stop(signal.SIGKILL)
    worker.start()
    assert worker.status(job).status_code == 404
    bad = requests.post(f"{worker.url}/jobs", data={"style": "sunset"},
                        files={"photo": ("p.jpg", b"not an image", "image/jpeg")}, timeout=10)
    assert bad.status_code == 400 and "readable" in bad.json()["error"]
    (worker.tmp / "paintings" / "README.txt").write_text("not a painting")
    for style in ("nope", "*", "README"):  # not a painting, a pattern, not an image
        unknown = requests.post(f"{worker.url}/jobs", data={"style": style},
                                files={"photo": ("p.jpg", worker.photo, "image/jpeg")}, timeout=10)
        assert unknown.status_code == 400 and f"no painting '{style}'" in unknown.json()["error"]


def test_the_worker_names_the_paintings_it_holds(worker):
    (worker.tmp / "paintings" / "README.txt").write_text("not a painting")
    write_image(worker.tmp / "paintings" / "dawn.jpg", size=(32, 32))
    names = requests.get(f"{worker.url}/paintings", timeout=10).json()["paintings"]
    assert names == ["dawn", "sunset"]


@pytest.fixture
def hd_client(worker, model_server, catalogue_file):
    from gateway import create_app

    app = create_app({"TESTING": True, "MODEL_SERVER": model_server.grpc_target,
                      "CATALOGUE_FILE": str(catalogue_file), "STYLIZE_RATE_LIMIT": "",
                      "HD_WORKER": worker.url, "HD_MAX_SIDE": 48})
    return app


def test_the_gateway_checks_and_relays_hd_jobs(hd_client, worker, tmp_path):
    client = hd_client.test_client()
    photo = write_image(tmp_path / "p.jpg", size=(64, 48)).read_bytes()

    def submit(**form):
        form.setdefault("image", (io.BytesIO(photo), "p.jpg", "image/jpeg"))
        return client.post("/api/v1/hd", data=form, content_type="multipart/form-data")

    started = submit(style="sunset")
    assert started.status_code == 202, started.get_data(as_text=True)
    job = started.get_json()["id"]
    deadline = time.monotonic() + 60
    while (body := client.get(f"/api/v1/hd/{job}").get_json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # The worker's default iterations, 4: 2 at half size, 2 at full size.
    assert body["state"] == "done" and body["step"] == 4
    picture = client.get(f"/api/v1/hd/{job}/picture")
    assert picture.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(picture.data)).size == (48, 36)  # scaled to HD_MAX_SIDE
    write_image(tmp_path / "paintings" / "dawn.png", size=(32, 32))  # a gallery painting
    styles = client.get("/api/v1/styles").get_json()
    assert styles["hd"] is True
    assert {s["name"]: s["hd"] for s in styles["styles"]} == {
        "dawn": True, "dusk": False, "tiny": False, "tiny_b": False, "absent": False,
        "noon": False}
    # The OpenAPI document describes what the routes answer.
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert set(body) == set(schemas["HDJob"]["properties"])
    assert set(styles) == set(schemas["Styles"]["properties"])
    assert all(set(s) <= set(schemas["Styles"]["properties"]["styles"]["items"]["properties"])
               for s in styles["styles"])
    assert "no painting 'nope'" in submit(style="nope").get_json()["error"]
    assert submit(style="sunset:-1").status_code == 422
    assert "iterations must be" in submit(style="sunset", iterations="0").get_json()["error"]
    assert submit().status_code == 422  # neither a style nor a painting
    assert submit(style="sunset", image=(io.BytesIO(b"junk"), "p.jpg", "image/jpeg")).status_code == 400
    assert client.get("/api/v1/hd/not-a-job-id-at-all").status_code == 404
    assert client.get("/api/v1/hd/..%2Fetc").status_code in (404, 422)
    worker.stop()
    down = submit(style="sunset")
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert not any(s["hd"] for s in client.get("/api/v1/styles").get_json()["styles"])
    worker.start()


def test_hd_is_not_offered_without_a_worker(client, tmp_path):
    response = client.post("/api/v1/hd", data={"style": "dawn"}, content_type="multipart/form-data")
    assert response.status_code == 404 and "not offered" in response.get_json()["error"]
    assert client.get("/api/v1/styles").get_json()["hd"] is False
