"""`make run` as a user meets it: two supervised model-server replicas and the gateway
under gunicorn (real processes), faults injected under load, and a rollout through the
local replicas seen from the page's API."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
import requests

from local_stack.stack import LocalStack, StackConfig
from ops.rollout import main as rollout
from serving.client import ModelServerClient
from serving.config_files import MODELS_CONFIG, ModelServerConfig, model_config_text, pin_model
from tests.conftest import write_image


def _free_block(size: int) -> int:
    """A base port with `size` free loopback ports from it (the replicas take base + 2i)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + size >= 65535:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no block of free ports")


def children_of(parent: int) -> dict[int, str]:
    """{pid: command line} of the running children of `parent`."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if entry.name.isdigit() and int(fields[1]) == parent and fields[0] != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def child_pid(parent: int, needle: str) -> int:
    """The pid of the child of `parent` whose command line contains `needle`."""
    for pid, cmdline in children_of(parent).items():
        if needle in cmdline:
            return pid
    raise LookupError(f"no child of {parent} runs {needle!r}")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, timeout: float, what: str) -> float:
    """Seconds until `condition()` was true; fails the test after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if condition():
                return time.monotonic() - start
        except (OSError, KeyError, requests.RequestException, grpc.RpcError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s")


class Stack:
    def __init__(self, root: Path, catalogue_file: Path):
        self.root, self.repo = root, root / "repo"
        base, self.port, self.hd_port = _free_block(4), _free_block(1), _free_block(1)
        self.replicas = [f"127.0.0.1:{base}", f"127.0.0.1:{base + 2}"]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "local_stack.log"
        # A 30 % canary share that leaves out 127.0.0.1 (crc32 % 10000 = 3832): the tests'
        # own requests stay on stable; clients named by X-Forwarded-For spread over both.
        env = {**os.environ, "GATEWAY_CATALOGUE_FILE": str(catalogue_file),
               "GATEWAY_STYLIZE_RATE_LIMIT": "", "GATEWAY_CANARY_SHARE": "0.3",
               "GATEWAY_TRUSTED_PROXIES": "127.0.0.0/8"}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local_stack", "--repo", str(self.repo),
                 "--port", str(self.port), "--grpc-port", str(base), "--rest-port", str(base + 1),
                 "--replicas", "2", "--hd-port", str(self.hd_port)],
                stdout=log, stderr=subprocess.STDOUT, env=env)

    def output(self) -> str:
        return self.log.read_text()

    def stylize(self, photo: bytes, session=requests, client: str | None = None) -> requests.Response:
        return session.post(f"{self.url}/api/v1/stylize", data={"style": "tiny"}, timeout=30,
                            files={"image": ("p.jpg", photo, "image/jpeg")},
                            headers={"X-Forwarded-For": client} if client else None)

    def ready(self) -> bool:
        if requests.get(f"{self.url}/readyz", timeout=2).status_code != 200:
            return False
        return all("AVAILABLE" in ModelServerClient(r).versions("tiny").values() for r in self.replicas)


@pytest.fixture(scope="module")
def stack(model_repo, catalogue_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("stack")
    shutil.copytree(model_repo / "tiny", root / "repo" / "tiny")
    config = ModelServerConfig()
    pin_model(config, "tiny", str(root / "repo" / "tiny"), 1)
    (root / "repo" / MODELS_CONFIG).write_text(model_config_text(config))
    stack = Stack(root, catalogue_file)
    try:
        wait_for(lambda: "Stylize is running" in stack.output(), 120, "the announcement")
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.process.terminate()
            stack.process.wait(30)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> bytes:
    return write_image(tmp_path_factory.mktemp("photo") / "p.jpg", size=(48, 32)).read_bytes()


class Load:
    """Uploads to the gateway back to back from `senders` threads until stopped; collects
    the status codes."""
    clients = [None]  # who the requests come from (None: the test itself, 127.0.0.1)
    senders = 1

    def __init__(self, stack, photo):
        self.stack, self.photo, self.codes = stack, photo, []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.send, daemon=True)
                        for _ in range(self.senders)]

    def send(self):
        session = requests.Session()
        while not self.stopping.is_set() and len(self.codes) < 5000:
            client = self.clients[len(self.codes) % len(self.clients)]
            try:
                self.codes.append(self.stack.stylize(self.photo, session, client).status_code)
            except requests.ConnectionError:
                self.codes.append("refused")
                time.sleep(0.1)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(40)


def test_killed_replica_restarts_while_the_other_serves_every_request(stack, photo):
    with Load(stack, photo) as load:
        time.sleep(1)
        os.kill(child_pid(stack.process.pid, f"--port={stack.replicas[0].rsplit(':')[1]}"),
                signal.SIGKILL)
        wait_for(lambda: "starting model-server-0 again" in stack.output(), 10, "the restart")
        wait_for(stack.ready, 90, "replica 0 back")
    assert load.codes and set(load.codes) == {200}, load.codes
    assert stack.process.poll() is None


def test_killed_gateway_restarts_and_the_site_comes_back(stack, photo):
    os.kill(child_pid(stack.process.pid, "gateway.wsgi"), signal.SIGKILL)
    wait_for(lambda: "starting gateway again" in stack.output(), 10, "the restart")
    wait_for(stack.ready, 90, "the gateway back")
    assert stack.stylize(photo).status_code == 200
    assert stack.process.poll() is None


def test_rollout_and_rollback_change_what_the_site_serves(stack, photo, model_repo):
    def rollout_cmd(*args):
        return rollout([*args, "--model", "tiny", "--replicas", ",".join(stack.replicas),
                        "--config", str(stack.repo / MODELS_CONFIG), "--wait", "60"])

    first = stack.stylize(photo)
    assert first.headers["X-Model-Version"] == "1"
    # Through the real gunicorn: no version banner, the security headers are there.
    assert not any(c.isdigit() for c in first.headers.get("Server", ""))
    assert "frame-ancestors 'none'" in first.headers["Content-Security-Policy"]
    assert rollout_cmd("publish", "--from", str(model_repo / "tiny" / "1")) == 0
    assert stack.stylize(photo).headers["X-Model-Version"] == "2"
    assert rollout_cmd("rollback") == 0
    wait_for(lambda: stack.stylize(photo).headers["X-Model-Version"] == "1", 5, "v1 served")


def test_supervisor_killed_takes_its_children_along(catalogue_file, tmp_path):
    """`kill -9` of `make run` itself must not leave a model server holding its port."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / MODELS_CONFIG).write_text("model_config_list { }")
    stack = Stack(tmp_path, catalogue_file)
    wait_for(lambda: len(children_of(stack.process.pid)) == 4, 30,
             "four children: two model servers, the HD worker, the gateway")
    children = children_of(stack.process.pid)
    stack.process.kill()
    stack.process.wait()
    for pid in children:
        wait_for(lambda pid=pid: not alive(pid), 20, f"pid {pid} gone")


def test_the_site_offers_hd_through_its_own_worker(stack):
    assert requests.get(f"http://127.0.0.1:{stack.hd_port}/healthz", timeout=5).json()["slots"] == 1
    styles = requests.get(f"{stack.url}/api/v1/styles", timeout=5).json()
    # Started without a paintings folder: HD is offered for uploaded paintings only.
    assert styles["hd"] is True and not any(s["hd"] for s in styles["styles"])
    assert "refines uploaded paintings only" in stack.output()


def test_a_paintings_folder_that_is_not_there_is_an_error(tmp_path, capsys):
    from local_stack.run import main

    assert main(["--repo", str(tmp_path), "--hd-paintings", str(tmp_path / "nope")]) == 2
    assert "--hd-paintings" in capsys.readouterr().err


def test_the_site_is_ready_only_when_every_model_is_available_on_every_replica(app, model_server):
    from werkzeug.serving import make_server

    gateway = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        stack = LocalStack(StackConfig(Path("unused.config"), port=gateway.server_port))
        stack.replicas = [model_server.grpc_target]
        assert stack.ready(["tiny", "tiny_b"])
        assert not stack.ready(["tiny", "not_loaded"])
        stack.replicas.append(f"127.0.0.1:{_free_block(1)}")  # a second replica, down
        assert not stack.ready(["tiny"])
    finally:
        gateway.shutdown()


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(not PROMETHEUS, reason="Debian's prometheus is not installed (.ci/run installs it)")
def test_a_real_prometheus_scrapes_the_stack_and_reads_a_series_per_version(stack, photo, tmp_path):
    import yaml

    from ops.monitoring import local_config

    rest = [f"127.0.0.1:{int(r.rsplit(':', 1)[1]) + 1}" for r in stack.replicas]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(local_config(
        f"127.0.0.1:{stack.port}", rest, f"127.0.0.1:{stack.hd_port}", "1s")))
    port = _free_block(1)
    with open(tmp_path / "prometheus.log", "wb") as log:
        prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"

    def query(promql: str) -> list:
        return requests.get(f"{api}/query", params={"query": promql}, timeout=5).json()["data"]["result"]

    try:
        with Load(stack, photo):
            wait_for(lambda: query('gateway_predictions_total{model="tiny",version="1",outcome="ok"}'),
                     60, "the gateway's per-version series")
            wait_for(lambda: query('model_version:gateway_predictions:error_ratio_rate5m'
                                   '{model="tiny",version="1"} == 0'), 60, "the recorded error ratio")
            wait_for(lambda: len(query(':tensorflow:serving:request_count'
                                       '{model_name="tiny",status="OK"}')) == 2,
                     30, "TF Serving's request_count from both replicas")
        targets = requests.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
        assert sorted(t["labels"]["job"] for t in targets if t["health"] == "up") == \
            ["gateway", "hd-worker", "model-server", "model-server"]
        groups = requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
        assert [r["health"] for g in groups for r in g["rules"]] == ["ok"] * 9
    finally:
        prometheus.terminate()
        prometheus.wait(20)



class ManyClients(Load):
    """Load from 40 client addresses (through the trusted proxy), about 30 % of them in
    the gateway's canary share. Four senders: one alone, waiting on a slow canary, got
    fewer than the judge's 20 canary Predicts into a 6 s window on a busy CI machine."""
    clients = [f"198.51.100.{i}" for i in range(40)]
    senders = 4


def pause(microseconds):
    """A delay that takes no CPU, so the canary is as slow on a busy machine as on an idle
    one (a matmul loop's delay grew with the load and starved the window of canary
    Predicts), from public raw ops a SavedModel keeps: a one-element dataset that sleeps
    before each item and again before saying it is done, so twice `microseconds`."""
    import tensorflow as tf

    spec = {"output_types": [tf.int32], "output_shapes": [[]]}
    one = tf.raw_ops.TensorDataset(components=[tf.constant(0)], output_shapes=[[]])
    slow = tf.raw_ops.SleepDataset(input_dataset=one, sleep_microseconds=microseconds, **spec)
    return tf.raw_ops.DatasetToSingleElement(dataset=slow, **spec)


def canary_model(path: Path, kind: str) -> Path:
    """A SavedModel that passes the rollout's 64 px smoke test (it returns the image) but,
    on any other picture, fails ("fails") or first waits 0.2 s ("slow")."""
    import tensorflow as tf

    from serving.contract import INPUT_IMAGES, OUTPUT_IMAGES

    class Canary(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_IMAGES)])
        def serve(self, images):
            width = tf.shape(tf.io.decode_jpeg(images[0]))[1]
            if kind == "fails":
                checks = [tf.debugging.assert_equal(width, 64, message="breaks on real photos")]
            else:
                checks = pause(tf.cast(tf.where(width == 64, 0, 100_000), tf.int64))
            with tf.control_dependencies(checks):
                return {OUTPUT_IMAGES: tf.identity(images)}

    canary = Canary()
    tf.saved_model.save(canary, str(path), signatures={"serving_default": canary.serve})
    return path


@pytest.mark.parametrize("kind", ["fails", "slow"])
def test_a_held_canary_that_does_worse_than_stable_is_rolled_back(stack, photo, tmp_path, capsys,
                                                                  kind):
    before = stack.stylize(photo).headers["X-Model-Version"]
    with ManyClients(stack, photo) as load:
        code = rollout(["publish", "--model", "tiny", "--replicas", ",".join(stack.replicas),
                        "--config", str(stack.repo / MODELS_CONFIG), "--wait", "60",
                        "--from", str(canary_model(tmp_path / kind, kind)), "--hold", "6",
                        "--metrics", f"{stack.url}/metrics"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert ("fails more than stable" if kind == "fails" else "slower than stable") in err
    assert f"stable stays {before}" in err
    assert stack.stylize(photo).headers["X-Model-Version"] == before
    assert 200 in load.codes


def test_a_held_canary_as_good_as_stable_is_promoted(stack, photo, model_repo, capsys):
    before = int(stack.stylize(photo).headers["X-Model-Version"])
    with ManyClients(stack, photo) as load:
        code = rollout(["publish", "--model", "tiny", "--replicas", ",".join(stack.replicas),
                        "--config", str(stack.repo / MODELS_CONFIG), "--wait", "60",
                        "--from", str(model_repo / "tiny" / "1"), "--hold", "4",
                        "--metrics", f"{stack.url}/metrics"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "canary judged good: canary: " in out.out
    assert int(stack.stylize(photo).headers["X-Model-Version"]) > before
    assert set(load.codes) == {200}  # a good canary costs no request


# Last: it stops the module's stack.
def test_sigterm_stops_everything_within_seconds(stack):
    children = [child_pid(stack.process.pid, name) for name in ("gateway.wsgi", "model_server", "hd.wsgi")]
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=20) == 0
    for pid in children:
        wait_for(lambda pid=pid: not alive(pid), 5, f"pid {pid} gone")
