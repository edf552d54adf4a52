"""Prometheus for the stylize service: the alert rules as the Prometheus Operator takes them,
and a scrape configuration for the local stack.

  python -m ops.monitoring prometheus-rule | kubectl apply -f -
  python -m ops.monitoring local-config > /tmp/prometheus.yml   # then: make monitor

The rules live once, in k8s/monitoring/alerts.rules.yml (a plain rules file, tested by
`promtool test rules k8s/monitoring/alerts.test.yml`); the PrometheusRule wraps the same
groups. The dashboard is k8s/monitoring/grafana-dashboard.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

MONITORING = Path(__file__).resolve().parent.parent / "k8s" / "monitoring"
RULES = MONITORING / "alerts.rules.yml"
MODEL_SERVER_METRICS = "/monitoring/prometheus/metrics"  # monitoring.config's path


def prometheus_rule(namespace: str) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "stylize", "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "stylize"}},
            "spec": {"groups": yaml.safe_load(RULES.read_text())["groups"]}}


def local_config(gateway: str, model_servers: list[str], hd_worker: str | None,
                 interval: str) -> dict:
    """Scrapes `make run`'s processes (host:port each) and loads the rules."""
    jobs = [{"job_name": "gateway", "static_configs": [{"targets": [gateway]}]},
            {"job_name": "model-server", "metrics_path": MODEL_SERVER_METRICS,
             "static_configs": [{"targets": model_servers}]}]
    if hd_worker:
        jobs.append({"job_name": "hd-worker", "static_configs": [{"targets": [hd_worker]}]})
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(RULES)], "scrape_configs": jobs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ops.monitoring", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest="command", required=True)
    rule = commands.add_parser("prometheus-rule", help="the rules as a PrometheusRule")
    rule.add_argument("--namespace", default="stylize")
    local = commands.add_parser("local-config", help="prometheus.yml for the local stack")
    local.add_argument("--gateway", default="127.0.0.1:8080", help="host:port of the gateway")
    local.add_argument("--model-server", action="append", default=None,
                       help="host:port of a model server's REST port (repeat per replica; "
                            "default 127.0.0.1:8501)")
    local.add_argument("--hd-worker", default="127.0.0.1:8600", help="'' for none")
    local.add_argument("--interval", default="15s", help="scrape and evaluation interval")
    args = p.parse_args(argv)
    if args.command == "prometheus-rule":
        document = prometheus_rule(args.namespace)
    else:
        document = local_config(args.gateway, args.model_server or ["127.0.0.1:8501"],
                                args.hd_worker or None, args.interval)
    yaml.safe_dump(document, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
