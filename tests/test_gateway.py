import io
import json
import time
from types import SimpleNamespace

import pytest
from PIL import Image

from gateway import create_app, model_client
from local_stack.launch import free_port
from tests.conftest import model_server_in_process, write_image


def upload(client, data: bytes, filename="photo.jpg", content_type="image/jpeg", headers=None,
           **form):
    form.setdefault("style", "tiny")
    form["image"] = (io.BytesIO(data), filename, content_type)
    return client.post("/api/v1/stylize", data=form, content_type="multipart/form-data",
                       headers=headers)


def encoded(tmp_path, name, **kwargs) -> bytes:
    return write_image(tmp_path / name, **kwargs).read_bytes()


def result_size(response) -> tuple[int, int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/jpeg"
    return Image.open(io.BytesIO(response.data)).size


@pytest.mark.parametrize("name,mode,args", [
    ("a.jpg", "RGB", {}), ("a.png", "RGB", {}), ("a.jpg", "CMYK", {}), ("a.png", "RGBA", {}),
    ("a.png", "P", {}), ("a.png", "I;16", {}), ("a.webp", "RGB", {}), ("a.tiff", "RGB", {}),
])
def test_stylize_any_mode_and_format(client, tmp_path, name, mode, args):
    response = upload(client, encoded(tmp_path, name, size=(64, 48), mode=mode, **args))
    assert result_size(response) == (64, 48)
    assert response.headers["X-Model-Version"] == "1"


def test_exif_orientation_is_applied(client, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    response = upload(client, encoded(tmp_path, "r.jpg", size=(64, 48), exif=exif))
    assert result_size(response) == (48, 64)


def test_animated_gif_uses_the_first_frame(client, tmp_path):
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert result_size(upload(client, buffer.getvalue(), "a.gif", "image/gif")) == (40, 30)


def test_long_side_is_limited_by_max_side(client, tmp_path):
    response = upload(client, encoded(tmp_path, "big.jpg", size=(200, 100)), max_side="64")
    assert result_size(response) == (64, 32)
    assert response.headers["X-Image-Size"] == "64x32"


def test_version_and_label_are_passed_through(client, tmp_path):
    data = encoded(tmp_path, "a.jpg")
    assert upload(client, data, version="1").headers["X-Model-Version"] == "1"
    assert upload(client, data, label="stable").headers["X-Model-Version"] == "1"


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_rejections(client, tmp_path):
    jpeg = encoded(tmp_path, "a.jpg")
    assert "no image" in error_of(client.post("/api/v1/stylize", data={"style": "tiny"}), 400)
    assert "unreadable" in error_of(upload(client, b"\xff\xd8garbage"), 400)
    assert "not an image type" in error_of(upload(client, b"hello", "a.txt", "text/plain"), 415)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    assert error_of(upload(client, eps, "a.eps", "application/postscript"), 415)
    assert "style" in error_of(upload(client, jpeg, style=""), 422)
    assert "unknown style" in error_of(upload(client, jpeg, style="nope"), 422)
    assert "max_side" in error_of(upload(client, jpeg, max_side="5000"), 422)
    assert "max_side" in error_of(upload(client, jpeg, max_side="big"), 422)
    assert error_of(upload(client, jpeg, version="9"), 422)
    assert error_of(upload(client, jpeg, label="nope"), 422)
    assert "not both" in error_of(upload(client, jpeg, version="1", label="stable"), 422)
    tiny = encoded(tmp_path, "tiny.jpg", size=(4, 4))
    assert "at least 16" in error_of(upload(client, tiny), 422)


def test_too_large_uploads(client, tmp_path):
    assert "limit is 2 MB" in error_of(upload(client, b"\0" * (3 * 1024 * 1024)), 413)
    huge = io.BytesIO()
    Image.new("L", (3000, 2000)).save(huge, format="PNG")  # 6 MP, above the 4 MP test limit
    assert "megapixels" in error_of(upload(client, huge.getvalue(), "h.png", "image/png"), 413)


def test_styles_list_versions_from_the_model_server(client):
    styles = {s["name"]: s for s in client.get("/api/v1/styles").get_json()["styles"]}
    assert styles["tiny"]["versions"] == [1] and styles["tiny"]["available"]
    assert styles["tiny"]["artist"] == "Test Suite"
    assert styles["absent"]["available"] is False


def test_probes_metrics_and_openapi(client, tmp_path):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["styles"] == ["tiny_multi", "tiny", "tiny_b", "arbitrary"]
    upload(client, encoded(tmp_path, "a.jpg"))
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_requests_total{route="/api/v1/stylize",status="200",style="tiny"}' in metrics
    assert 'gateway_predict_seconds_bucket{le="0.025",model="tiny",version="1"}' in metrics
    assert 'gateway_predictions_total{label="stable",model="tiny",outcome="ok",version="1"}' in metrics
    assert 'gateway_version_label_info{label="stable",model="tiny",version="1"} 1.0' in metrics
    assert 'gateway_model_available_versions{model="absent"} 0.0' in metrics  # after /readyz
    assert 'gateway_model_available_versions{model="tiny"} 1.0' in metrics
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/stylize" in spec["paths"]
    assert "429" in spec["paths"]["/api/v1/stylize"]["post"]["responses"]  # the rate limit
    frames = spec["paths"]["/api/v1/frames"]["post"]["requestBody"]["content"]
    fields = frames["multipart/form-data"]["schema"]["properties"]
    assert fields["max_side"]["maximum"] == 384 and "style_image" not in fields


def test_page_is_served_without_external_resources(client):
    page = client.get("/").get_data(as_text=True)
    assert "<input id=\"file\"" in page and "http://" not in page and "https://" not in page


def test_model_server_down_then_back(model_repo, tmp_path, catalogue_file, monkeypatch):
    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "tiny" base_path: "{model_repo}/tiny" '
                      'model_platform: "tensorflow" version_labels { key: "stable" value: 1 } } }')
    server = model_server_in_process(config, port=free_port())
    app = create_app({"MODEL_SERVER": server.grpc_target, "CATALOGUE_FILE": str(catalogue_file),
                      "PREDICT_TIMEOUT": 5.0})
    # The retries' back-off sleeps, counted rather than timed: a wall-clock bound
    # failed on a loaded CI machine.
    backoffs = []
    monkeypatch.setattr(model_client, "time", SimpleNamespace(
        **{**vars(time), "sleep": lambda s: (backoffs.append(s), time.sleep(s))}))
    client, jpeg = app.test_client(), encoded(tmp_path, "a.jpg")
    response = upload(client, jpeg)
    assert "unavailable" in error_of(response, 503)
    assert response.headers["Retry-After"]
    assert backoffs
    # Known to be down now: the next requests get their 503 without the retries (~3 s).
    backoffs.clear()
    response = upload(client, jpeg)
    assert backoffs == []
    assert "unavailable" in error_of(response, 503) and response.headers["Retry-After"]
    assert client.get("/readyz").status_code == 503
    try:
        server.start()
        assert result_size(upload(client, jpeg)) == (64, 48)
        assert client.get("/readyz").status_code == 200
    finally:
        server.stop()
    assert error_of(upload(client, jpeg), 503)


def test_config_from_environment(monkeypatch, catalogue_file):
    monkeypatch.setenv("GATEWAY_MODEL_SERVER", "model-server:8500")
    monkeypatch.setenv("GATEWAY_DEFAULT_MAX_SIDE", "512")
    app = create_app({"CATALOGUE_FILE": str(catalogue_file)})
    assert app.config["MODEL_SERVER"] == "model-server:8500"
    assert app.config["DEFAULT_MAX_SIDE"] == 512
    assert json.loads(json.dumps(app.config["DEFAULT_MAX_SIDE"])) == 512


def test_security_headers_on_page_and_api(client):
    for response in (client.get("/"), client.get("/api/v1/openapi.json"),
                     client.post("/api/v1/stylize", data={"style": "tiny"})):
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp.replace("default-src", "")
        assert "'unsafe-inline'" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in client.get("/").get_data(as_text=True)  # the CSP forbids inline script


def limited_app(catalogue_file, model_server, **config):
    return create_app({"MODEL_SERVER": model_server.grpc_target, "CATALOGUE_FILE": str(catalogue_file),
                       "STYLIZE_RATE_LIMIT": "2 per minute", **config})


def test_rate_limit_answers_429_with_retry_after(catalogue_file, model_server, tmp_path):
    client, jpeg = limited_app(catalogue_file, model_server).test_client(), encoded(tmp_path, "a.jpg")
    assert [upload(client, jpeg).status_code for _ in range(2)] == [200, 200]
    response = upload(client, jpeg)
    assert "rate limit exceeded: at most 2 per 1 minute" in error_of(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/api/v1/styles").status_code == 200  # cheap routes stay open
    assert 'gateway_rate_limited_total{route="/api/v1/stylize"} 1.0' in \
        client.get("/metrics").get_data(as_text=True)


def test_forwarded_for_is_believed_only_from_trusted_proxies(catalogue_file, model_server, tmp_path):
    jpeg = encoded(tmp_path, "a.jpg")

    def codes(app, forwarded_for):
        client = app.test_client()
        return [upload(client, jpeg, headers={"X-Forwarded-For": f}).status_code for f in forwarded_for]

    # Not trusted: a client cannot dodge its limit by inventing addresses.
    untrusted = limited_app(catalogue_file, model_server)
    assert codes(untrusted, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [200, 200, 429]
    # Through the trusted proxy (the test client's 127.0.0.1): each client has its own limit;
    # the address the proxy appended counts, not what the client wrote before it.
    trusted = limited_app(catalogue_file, model_server, TRUSTED_PROXIES="127.0.0.0/8")
    assert codes(trusted, ["198.51.100.1", "198.51.100.2", "198.51.100.1", "1.2.3.4, 198.51.100.1"]) \
        == [200, 200, 200, 429]


def test_bad_trusted_proxies_setting_is_a_clear_error(catalogue_file):
    with pytest.raises(ValueError, match="not an address"):
        create_app({"CATALOGUE_FILE": str(catalogue_file), "TRUSTED_PROXIES": "10.0.0.0/8, proxy"})


def frame(client, data: bytes, **form):
    form.setdefault("style", "tiny")
    form["image"] = (io.BytesIO(data), "frame.jpg", "image/jpeg")
    return client.post("/api/v1/frames", data=form, content_type="multipart/form-data")


def test_live_frames_are_small_and_checked(client, tmp_path):
    camera = encoded(tmp_path, "camera.jpg", size=(640, 480))
    response = frame(client, camera)
    assert result_size(response) == (320, 240)  # LIVE_SIDE
    assert response.headers["X-Style"] == "tiny"
    assert result_size(frame(client, camera, max_side="384")) == (384, 288)
    assert "max_side must be between 16 and 384" in error_of(frame(client, camera, max_side="385"), 422)
    painting = (io.BytesIO(camera), "painting.jpg", "image/jpeg")
    assert "not style_image" in error_of(frame(client, camera, style="", style_image=painting), 422)


def test_live_viewers_cannot_take_every_thread(app, client, tmp_path):
    camera, slots = encoded(tmp_path, "camera.jpg"), app.extensions["live_slots"]
    taken = 0
    while slots.acquire(blocking=False):  # as many frames in flight as LIVE_MAX_IN_FLIGHT
        taken += 1
    try:
        response = frame(client, camera)
        assert "live mode is at capacity" in error_of(response, 503)
        assert response.headers["Retry-After"] == "1"
        assert result_size(upload(client, camera)) == (64, 48)  # photos still go through
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == app.config["LIVE_MAX_IN_FLIGHT"]
    assert frame(client, camera).status_code == 200


def test_a_live_viewer_has_its_own_rate_limit(catalogue_file, model_server, tmp_path):
    client = limited_app(catalogue_file, model_server, LIVE_RATE_LIMIT="2 per minute").test_client()
    camera = encoded(tmp_path, "camera.jpg")
    assert [frame(client, camera).status_code for _ in range(3)] == [200, 200, 429]
    assert upload(client, camera).status_code == 200  # the same client's photos are counted apart


def test_a_label_names_one_version_in_the_metrics():
    from gateway.metrics import VERSION_LABEL, saw_label

    saw_label("label_test", "canary", 3)
    saw_label("label_test", "canary", 4)  # the rollout moved the label
    saw_label("label_test", None, 5)  # pinned to a version: no label to record
    assert {(s.labels["label"], s.labels["version"]) for family in VERSION_LABEL.collect()
            for s in family.samples if s.labels["model"] == "label_test"} == {("canary", "4")}


ONLY_PROTOS = """
import importlib.machinery, io, sys

class OnlyProtos:
    # 'tensorflow' is the folder of copied protobuf modules, not the installed TensorFlow.
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            return importlib.machinery.PathFinder.find_spec(name, [sys.argv[1]])

sys.meta_path.insert(0, OnlyProtos())
from PIL import Image
from gateway import create_app

app = create_app({"MODEL_SERVER": sys.argv[2], "CATALOGUE_FILE": sys.argv[3], "STYLIZE_RATE_LIMIT": ""})
photo = io.BytesIO()
Image.new("RGB", (40, 30), "teal").save(photo, "JPEG")
response = app.test_client().post("/api/v1/stylize", content_type="multipart/form-data", data={
    "style": "tiny", "image": (io.BytesIO(photo.getvalue()), "p.jpg", "image/jpeg")})
assert response.status_code == 200 and response.data[:2] == b"\\xff\\xd8", response.data[:300]
assert not [m for m in sys.modules if m.startswith("tensorflow.python")]
print("painted without TensorFlow")
"""


def test_the_gateway_needs_only_tf_servings_protos_not_tensorflow(model_server, catalogue_file,
                                                                   tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, str(root / "docker" / "tf_serving_protos.py"),
                    str(tmp_path / "protos")], check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", ONLY_PROTOS, str(tmp_path / "protos"),
                           model_server.grpc_target, str(catalogue_file)],
                          capture_output=True, text=True, cwd=root, timeout=120)
    assert "painted without TensorFlow" in done.stdout, done.stderr[-3000:]


@pytest.fixture(scope="module")
def canary_server(model_repo, tmp_path_factory):
    """tiny with stable=1 and canary=2; tiny_b with stable=1 and no canary."""
    import shutil

    repo = tmp_path_factory.mktemp("canary")
    shutil.copytree(model_repo / "tiny" / "1", repo / "tiny" / "1")
    shutil.copytree(model_repo / "tiny" / "1", repo / "tiny" / "2")
    shutil.copytree(model_repo / "tiny_b" / "1", repo / "tiny_b" / "1")
    config = repo / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "tiny" base_path: "{repo}/tiny" model_platform: '
        '"tensorflow" model_version_policy { all {} } version_labels { key: "stable" value: 1 } '
        'version_labels { key: "canary" value: 2 } } '
        f'config {{ name: "tiny_b" base_path: "{repo}/tiny_b" model_platform: "tensorflow" '
        'version_labels { key: "stable" value: 1 } } }')
    server = model_server_in_process(config).start()
    yield server
    server.stop()


def test_a_share_of_clients_goes_to_the_canary_and_stays_there(canary_server, catalogue_file, tmp_path):
    jpeg = encoded(tmp_path, "a.jpg")

    def versions(share, clients, style="tiny"):
        client = create_app({"MODEL_SERVER": canary_server.grpc_target, "CANARY_SHARE": share,
                             "CATALOGUE_FILE": str(catalogue_file), "STYLIZE_RATE_LIMIT": "",
                             "TRUSTED_PROXIES": "127.0.0.0/8"}).test_client()
        return [upload(client, jpeg, style=style, headers={"X-Forwarded-For": c})
                .headers["X-Model-Version"] for c in clients]

    clients = [f"198.51.100.{i}" for i in range(40)]
    assert set(versions(0.0, clients)) == {"1"} and set(versions(1.0, clients)) == {"2"}
    half = versions(0.5, clients)
    assert 8 <= half.count("2") <= 32  # about half of the clients...
    assert versions(0.5, clients) == half  # ...and the same ones every time
    # A model without a canary serves everyone from stable, and counts no failure for it.
    assert set(versions(1.0, clients[:3], style="tiny_b")) == {"1"}
    from gateway.metrics import PREDICTIONS

    assert not [s for family in PREDICTIONS.collect() for s in family.samples
                if s.labels["model"] == "tiny_b" and s.labels["outcome"] != "ok"]


def test_a_refused_upload_keeps_the_clients_connection(model_server, catalogue_file, tmp_path):
    """Under gunicorn, as in production: a 429 answered before the photo was read leaves the
    keep-alive connection usable for the client's next request (gunicorn itself reads at
    most 64 KB of an unread body, then closes the connection under the client)."""
    import os
    import signal
    import subprocess

    import numpy as np
    import requests

    from local_stack.launch import gateway_command
    from tests.test_local_stack import wait_for

    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (600, 600, 3), np.uint8)).save(
        photo, "PNG")
    assert len(photo.getvalue()) > 64 * 1024
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GATEWAY_MODEL_SERVER": model_server.grpc_target,
           "GATEWAY_CATALOGUE_FILE": str(catalogue_file), "GATEWAY_STYLIZE_RATE_LIMIT": "1 per minute"}
    gateway = subprocess.Popen(gateway_command(), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url, session = f"http://127.0.0.1:{port}", requests.Session()
        # gunicorn listens before its worker has imported the app
        wait_for(lambda: session.get(f"{url}/healthz", timeout=5).ok, 60, "the gateway")
        statuses = [session.post(f"{url}/api/v1/stylize", data={"style": "tiny"}, timeout=30,
                                 files={"image": ("p.png", photo.getvalue(), "image/png")}).status_code
                    for _ in range(30)]
        assert statuses == [200] + [429] * 29
    finally:
        os.killpg(gateway.pid, signal.SIGTERM)
        gateway.wait(30)
