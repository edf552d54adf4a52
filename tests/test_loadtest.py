import json
import subprocess
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


def locust(tmp_path, locustfile: str, host: str, **env) -> tuple[subprocess.CompletedProcess, dict]:
    """A headless Locust run of 3 s with 2 users; its exit status and its aggregated row."""
    import csv
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", f"ops/locustfiles/{locustfile}",
         "--host", host, "--headless", "--users", "2", "--spawn-rate", "2", "--run-time", "3s",
         "--csv", str(tmp_path / "run"), "--html", str(tmp_path / "run.html"), "--only-summary"],
        capture_output=True, text=True, cwd=root, timeout=120, env={**os.environ, **env})
    stats = tmp_path / "run_stats.csv"
    rows = list(csv.DictReader(stats.open())) if stats.exists() else []
    return done, next((r for r in rows if r["Name"] == "Aggregated"), {})


def test_locust_uploads_photos_to_the_gateway_and_reports(gateway_url, tmp_path):
    done, row = locust(tmp_path, "gateway.py", gateway_url, STYLE="tiny", SIZE="64")
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(row["Request Count"]) > 0 and row["Failure Count"] == "0"
    assert float(row["50%"]) <= float(row["95%"]) <= float(row["99%"])
    assert (tmp_path / "run.html").stat().st_size > 1000


def test_locust_sends_predicts_over_grpc(model_server, tmp_path):
    done, row = locust(tmp_path, "grpc_predict.py", model_server.grpc_target, STYLE="tiny",
                       SIZE="32")
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(row["Request Count"]) > 0 and row["Failure Count"] == "0"


def test_locust_is_never_aimed_at_another_machine_by_accident(tmp_path):
    done, row = locust(tmp_path, "gateway.py", "http://192.0.2.10:8080")
    assert done.returncode == 2 and not row
    assert "not a loopback address" in done.stderr and "LOCUST_ALLOW_REMOTE=1" in done.stderr
