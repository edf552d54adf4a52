import base64
import ipaddress
import os
import shutil

import grpc
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2

from serving import tf_env
from serving.client import ModelServerClient
from serving.contract import (
    INPUT_IMAGES,
    INPUT_PIXELS,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    SIGNATURE_PIXELS,
)
from serving.samples import sample_jpeg
from tests.conftest import model_server_in_process


@pytest.fixture
def channel(model_server):
    with grpc.insecure_channel(model_server.grpc_target) as channel:
        yield channel


def predict_request(model, version=None, label=None, image=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "serving_default"
    if version:
        request.model_spec.version.value = version
    if label:
        request.model_spec.version_label = label
    request.inputs[INPUT_IMAGES].CopyFrom(tf.make_tensor_proto([image or sample_jpeg(40)]))
    return request


def predict(channel, request):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    return stub.Predict(request, timeout=20)


def test_predict_by_version_returns_a_jpeg(channel):
    response = predict(channel, predict_request("tiny", version=1))
    assert response.model_spec.version.value == 1
    image = tf.io.decode_jpeg(response.outputs[OUTPUT_IMAGES].string_val[0])
    assert tuple(image.shape) == (40, 40, 3)


def test_predict_by_label(channel):
    assert predict(channel, predict_request("tiny", label="stable")).model_spec.version.value == 1


def test_predict_pixels_signature(channel):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny_b"
    request.model_spec.signature_name = SIGNATURE_PIXELS
    request.inputs[INPUT_PIXELS].CopyFrom(tf.make_tensor_proto(np.zeros((1, 8, 12, 3), np.uint8)))
    out = tf.make_ndarray(predict(channel, request).outputs[OUTPUT_PIXELS])
    assert out.shape == (1, 8, 12, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("request_args", [
    {"model": "nope"}, {"model": "tiny", "version": 7}, {"model": "tiny", "label": "canary"}])
def test_unknown_model_version_or_label_is_not_found(channel, request_args):
    with pytest.raises(grpc.RpcError) as e:
        predict(channel, predict_request(**request_args))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_input_is_invalid_argument(channel):
    with pytest.raises(grpc.RpcError) as e:
        predict(channel, predict_request("tiny", image=b"this is not an image"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    request = predict_request("tiny")
    request.inputs["wrong"].CopyFrom(request.inputs.pop(INPUT_IMAGES))
    with pytest.raises(grpc.RpcError) as e:
        predict(channel, request)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_model_metadata_lists_signatures(channel):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "tiny"
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    response = stub.GetModelMetadata(request, timeout=5)
    defs = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(defs)
    assert {"serving_default", SIGNATURE_PIXELS} <= set(defs.signature_def)


def test_model_status_and_health(channel):
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "tiny"
    status = stub.GetModelStatus(request, timeout=5).model_version_status
    assert [(s.version, s.state) for s in status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_rest_status_and_predict(model_server):
    import base64
    import json
    import urllib.error
    import urllib.request

    def status(model):
        with urllib.request.urlopen(f"{model_server.rest_url}/v1/models/{model}", timeout=5) as r:
            return json.load(r)

    assert status("tiny")["model_version_status"][0]["state"] == "AVAILABLE"
    body = json.dumps({"instances": [{"b64": base64.b64encode(sample_jpeg(24)).decode()}]})
    req = urllib.request.Request(f"{model_server.rest_url}/v1/models/tiny/labels/stable:predict",
                                 data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        prediction = json.load(r)["predictions"][0]
    assert base64.b64decode(prediction["b64"])[:2] == b"\xff\xd8"
    with pytest.raises(urllib.error.HTTPError) as e:
        status("nope")
    e.value.close()
    assert e.value.code == 404


@pytest.fixture
def own_server(model_repo, tmp_path):
    """A separate server over a copy of the repository, for tests that change it."""
    repo = tmp_path / "repo"
    shutil.copytree(model_repo / "tiny", repo / "tiny")
    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "tiny" base_path: "{repo}/tiny" '
                      'model_platform: "tensorflow" model_version_policy { latest { num_versions: 2 } } } }')
    server = model_server_in_process(config).start()
    server.repo = repo
    yield server
    server.stop()


def reload(server, labels: dict, versions=2):
    config = model_server_config_pb2.ModelServerConfig()
    entry = config.model_config_list.config.add(name="tiny", base_path=str(server.repo / "tiny"),
                                                model_platform="tensorflow")
    entry.model_version_policy.latest.num_versions = versions
    for label, version in labels.items():
        entry.version_labels[label] = version
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        return stub.HandleReloadConfigRequest(
            model_management_pb2.ReloadConfigRequest(config=config), timeout=30)


def test_new_version_is_served_without_restart_and_labels_follow(own_server):
    shutil.copytree(own_server.repo / "tiny" / "1", own_server.repo / "tiny" / ".tmp")
    (own_server.repo / "tiny" / ".tmp").rename(own_server.repo / "tiny" / "2")
    ModelServerClient(own_server.grpc_target).wait_available("tiny", 2)
    with grpc.insecure_channel(own_server.grpc_target) as channel:
        assert predict(channel, predict_request("tiny")).model_spec.version.value == 2
        assert predict(channel, predict_request("tiny", version=1)).model_spec.version.value == 1
        reload(own_server, {"stable": 1, "canary": 2})
        assert predict(channel, predict_request("tiny", label="canary")).model_spec.version.value == 2
        reload(own_server, {"stable": 2})
        assert predict(channel, predict_request("tiny", label="stable")).model_spec.version.value == 2


def test_label_on_a_version_that_is_not_loaded_is_refused(own_server):
    with pytest.raises(grpc.RpcError) as e:
        reload(own_server, {"stable": 9})
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_model_without_versions_is_unavailable(tmp_path):
    (tmp_path / "empty").mkdir()
    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "empty" base_path: "{tmp_path}/empty" '
                      'model_platform: "tensorflow" } }')
    server = model_server_in_process(config).start()
    try:
        deadline_error = None
        for _ in range(100):
            try:
                with grpc.insecure_channel(server.grpc_target) as channel:
                    predict(channel, predict_request("empty"))
            except grpc.RpcError as e:
                deadline_error = e
                if e.code() != grpc.StatusCode.UNAVAILABLE or "no version" in e.details():
                    break
            import time
            time.sleep(0.2)
        assert deadline_error.code() == grpc.StatusCode.UNAVAILABLE
        assert "no version" in deadline_error.details()
    finally:
        server.stop()


def test_tf_settings_fill_in_only_what_the_environment_leaves_unset(monkeypatch):
    monkeypatch.delenv("TF_CPU_ALLOCATOR_USE_BFC", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    tf_env.apply()
    assert os.environ["TF_CPU_ALLOCATOR_USE_BFC"] == "true"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def listening_addresses(port: int) -> set:
    """Addresses of the TCP sockets listening on `port`, read from /proc/net/tcp and tcp6
    (hex, each 32-bit word in the kernel's little-endian order)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            hex_address, hex_port = local.rsplit(":", 1)
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(hex_address)
            address = ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))
            found.add(getattr(address, "ipv4_mapped", None) or address)
    return found


def test_development_server_listens_on_loopback_only(model_server):
    for port in (model_server.grpc_port, model_server.rest_port):
        addresses = listening_addresses(port)
        assert addresses and all(a.is_loopback for a in addresses), addresses


def test_metrics_carry_tf_servings_names_and_labels(model_repo, tmp_path):
    import json
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from local_stack.launch import free_port
    from serving.config_files import CONFIG_DIR
    from serving.model_server.main import ModelServer, ServerConfig

    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "tiny" base_path: "{model_repo}/tiny" '
                      'model_platform: "tensorflow" } }')
    server = ModelServer(ServerConfig(
        port=0, rest_api_port=free_port(), model_config_file=str(config),
        monitoring_config_file=str(CONFIG_DIR / "monitoring.config"))).start()

    def samples() -> dict:
        url = f"{server.rest_url}/monitoring/prometheus/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def count(status):
        return before_after[1].get((":tensorflow:serving:request_count",
                                    (("model_name", "tiny"), ("status", status))), 0) - \
            before_after[0].get((":tensorflow:serving:request_count",
                                 (("model_name", "tiny"), ("status", status))), 0)

    try:
        before_after = [samples()]
        with grpc.insecure_channel(server.grpc_target) as channel:
            predict(channel, predict_request("tiny"))
            with pytest.raises(grpc.RpcError):
                predict(channel, predict_request("tiny", label="nope"))
        body = json.dumps({"instances": [{"b64": base64.b64encode(sample_jpeg(24)).decode()}]})
        urllib.request.urlopen(urllib.request.Request(
            f"{server.rest_url}/v1/models/tiny:predict", data=body.encode(),
            headers={"Content-Type": "application/json"}), timeout=20).close()
        before_after.append(samples())
    finally:
        server.stop()
    assert count("OK") == 2 and count("NOT_FOUND") == 1
    for entrypoint in ("GRPC", "REST"):  # microseconds: a Predict takes more than 10
        key = (":tensorflow:serving:request_latency_count",
               (("API", "Predict"), ("entrypoint", entrypoint), ("model_name", "tiny")))
        assert before_after[1][key] > before_after[0].get(key, 0)
    assert not [name for name, _ in before_after[1] if name.endswith("_created")]
