"""The alert rules, the dashboard and the PrometheusRule, checked by Prometheus's own
promtool (Debian's `prometheus` package; .ci/run installs it). A real Prometheus scraping
the local stack: tests/test_local_stack.py."""
import json
import shutil
import subprocess

import pytest
import yaml

from ops.monitoring import MONITORING, RULES, local_config, prometheus_rule

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason="Debian's prometheus (promtool) is "
                                    "not installed (.ci/run installs it)")


def promtool(*args) -> str:
    done = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=MONITORING)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
def test_rules_check_and_their_unit_tests_pass():
    assert "SUCCESS: 9 rules found" in promtool("check", "rules", str(RULES))
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


@needs_promtool
def test_every_dashboard_query_parses(tmp_path):
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(queries) == len(dashboard["panels"]) >= 10
    # As recording rules, promtool parses every query with Prometheus's own parser.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)]}]}
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump(rules))
    promtool("check", "rules", str(tmp_path / "dashboard.rules.yml"))


@needs_promtool
def test_the_local_scrape_config_is_valid(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(local_config("127.0.0.1:8080", ["127.0.0.1:8501"],
                                                "127.0.0.1:8600", "15s")))
    promtool("check", "config", str(path))


def test_the_prometheus_rule_carries_the_rules_file_unchanged():
    rule = prometheus_rule("stylize")
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert alerts == {"StylizeErrorRatioHigh", "StylizeLatencyP99High", "StylizeModelUnavailable",
                      "StylizeModelServerLatencyP99High", "StylizeCanaryWorseThanStable"}
