import json
import threading

import pytest
from werkzeug.serving import make_server

from serving.launch import free_port
from serving.loadtest import main


@pytest.fixture
def gateway_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def report_of(path):
    report = json.loads(path.read_text())
    lat = report["latency_ms"]
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    return report


def test_gateway_run_gives_a_sane_report(gateway_url, tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    assert main(["--gateway", gateway_url, "--style", "tiny", "--concurrency", "2",
                 "--duration", "2", "--warmup", "0.5", "--size", "64", "--quiet",
                 "--json", str(out), "--plot", str(png)]) == 0
    report = report_of(out)
    assert report["ok"] > 0 and report["throughput_rps"] > 0 and report["errors"] == {}
    assert png.stat().st_size > 1000
    assert "throughput" in capsys.readouterr().out


def test_grpc_run_at_a_fixed_rate_with_a_request_budget(model_server, tmp_path):
    out = tmp_path / "r.json"
    assert main(["--grpc", model_server.grpc_target, "--model", "tiny", "--rate", "20",
                 "--requests", "5", "--duration", "5", "--warmup", "0", "--size", "32",
                 "--quiet", "--json", str(out)]) == 0
    report = report_of(out)
    assert report["requests"] == 5 and report["mode"] == "rate 20.0/s"


def test_errors_are_counted_when_the_server_is_down(tmp_path):
    out = tmp_path / "r.json"
    assert main(["--gateway", f"http://127.0.0.1:{free_port()}", "--style", "tiny",
                 "--duration", "0.5", "--warmup", "0", "--quiet", "--json", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["ok"] == 0 and report["errors"]["connection refused"] > 0


def test_remote_targets_need_to_be_allowed(capsys):
    assert main(["--grpc", "192.0.2.10:8500", "--model", "m", "--duration", "1"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_bad_settings_are_refused(capsys):
    assert main(["--grpc", "127.0.0.1:1", "--model", "m", "--concurrency", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
