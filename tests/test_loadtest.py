import json
import threading

import pytest
from werkzeug.serving import make_server

from local_stack.launch import free_port
from ops.loadtest import main


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


def test_live_viewers_send_frames(gateway_url, tmp_path):
    out = tmp_path / "r.json"
    assert main(["--gateway", gateway_url, "--style", "tiny", "--live", "--concurrency", "2",
                 "--requests", "6", "--warmup", "0", "--size", "64", "--quiet",
                 "--json", str(out)]) == 0
    report = report_of(out)
    assert report["target"].endswith("/api/v1/frames") and report["ok"] == 6


def test_live_frames_go_to_a_gateway(capsys):
    assert main(["--grpc", "127.0.0.1:1", "--model", "m", "--live"]) == 2
    assert "give --gateway" in capsys.readouterr().err


def test_grpc_run_at_a_fixed_rate_with_a_request_budget(model_server, tmp_path):
    out = tmp_path / "r.json"
    assert main(["--grpc", model_server.grpc_target, "--model", "tiny", "--rate", "20",
                 "--requests", "5", "--duration", "5", "--warmup", "0", "--size", "32",
                 "--quiet", "--json", str(out)]) == 0
    report = report_of(out)
    assert report["requests"] == 5 and report["mode"] == "rate 20.0/s"


def test_a_closed_port_is_one_outage_window_not_a_flood(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["--gateway", f"http://127.0.0.1:{free_port()}", "--style", "tiny",
                 "--concurrency", "2", "--duration", "3", "--warmup", "0", "--quiet",
                 "--json", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["ok"] == 0 and report["errors"]["connection refused"] > 0
    # Backing off 50 ms doubling to 1 s: about 7 requests per client in 3 s, not thousands.
    assert report["requests"] <= 20
    [outage] = report["outages"]
    assert outage["failed"] == report["requests"] and outage["end_s"] - outage["start_s"] > 2
    assert "outages     1, " in capsys.readouterr().out


def test_outage_windows_end_at_the_next_success():
    from ops.loadtest import Sample, outage_windows

    samples = [Sample(0.0, 0.1, None), Sample(1.0, 0.01, "UNAVAILABLE"),
               Sample(2.0, 0.01, "UNAVAILABLE"), Sample(3.5, 0.1, None), Sample(5.0, 0.2, "HTTP 503")]
    assert outage_windows(samples, 0.0) == [{"start_s": 1.0, "end_s": 3.5, "failed": 2},
                                            {"start_s": 5.0, "end_s": 5.2, "failed": 1}]


def test_remote_targets_need_to_be_allowed(capsys):
    assert main(["--grpc", "192.0.2.10:8500", "--model", "m", "--duration", "1"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_bad_settings_are_refused(capsys):
    assert main(["--grpc", "127.0.0.1:1", "--model", "m", "--concurrency", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
