"""Prometheus and Alertmanager for the lab: configs, the seed's rules verbatim, a silence."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import yaml

PROMETHEUS_BIN = os.environ.get("CLUSTERDECK_PROMETHEUS_BIN", "/usr/bin/prometheus")
ALERTMANAGER_BIN = os.environ.get("CLUSTERDECK_ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager")
SCRAPE_JOB = "cache/dragonfly"

# seed 001, app/prometheusrule.yaml.j2: spec.groups, verbatim
SEED_RULES_YAML = """\
groups:
  - name: dragonfly.rules
    rules:
      - alert: DragonflyDown
        expr: up{job="dragonfly"} == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "Dragonfly instance {{ $labels.pod }} is down"
          description: "Dragonfly pod {{ $labels.pod }} in namespace {{ $labels.namespace }} has been down for more than 5 minutes."

      - alert: DragonflyMemoryHigh
        expr: dragonfly_memory_used_bytes / dragonfly_memory_max_bytes > 0.9
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "Dragonfly memory usage high on {{ $labels.pod }}"
          description: "Dragonfly instance {{ $labels.pod }} is using {{ $value | humanizePercentage }} of its allocated memory."

      - alert: DragonflyConnectionsHigh
        expr: dragonfly_connected_clients / dragonfly_maxclients > 0.8
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "Dragonfly connections high on {{ $labels.pod }}"
          description: "Dragonfly instance {{ $labels.pod }} is using {{ $value | humanizePercentage }} of available connections."

      - alert: DragonflyReplicationLag
        expr: dragonfly_replication_lag_seconds > 10
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "Dragonfly replication lag on {{ $labels.pod }}"
          description: "Dragonfly replica {{ $labels.pod }} has a replication lag of {{ $value }}s."
"""

LAB_RULES_YAML = """\
groups:
  - name: lab.rules
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels:
          severity: none
        annotations:
          summary: "An alert that should always be firing to certify that Alertmanager is working properly."
"""


def seed_rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(SEED_RULES_YAML)["groups"]


def write_prometheus_config(root: Path, am_port: int | None) -> Path:
    """prometheus.yml + rules; the exporter target is a file_sd file written once the daemon is up."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "cache-dragonfly-alerts.yaml").write_text(SEED_RULES_YAML)
    (root / "rules" / "lab.yaml").write_text(LAB_RULES_YAML)
    (root / "targets").mkdir(exist_ok=True)
    write_targets(root, None)
    cfg: dict[str, Any] = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s", "scrape_timeout": "4s",
                   "external_labels": {"cluster": "clusterdeck-lab"}},
        "rule_files": [str(root / "rules" / "*.yaml")],
        "scrape_configs": [{
            "job_name": SCRAPE_JOB, "honor_labels": False, "metrics_path": "/metrics",
            "file_sd_configs": [{"files": [str(root / "targets" / "dragonfly.json")], "refresh_interval": "5s"}],
        }],
    }
    if am_port:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}
    path = root / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_targets(root: Path, metrics_port: int | None) -> None:
    """PodMonitor-style target labels for the exporter (namespace cache, pod dragonfly-0)."""
    groups = [] if metrics_port is None else [{
        "targets": [f"127.0.0.1:{metrics_port}"],
        "labels": {"namespace": "cache", "pod": "dragonfly-0", "container": "dragonfly",
                   "endpoint": "admin", "service": "dragonfly"}}]
    tmp = root / "targets" / "dragonfly.json.tmp"
    tmp.write_text(json.dumps(groups))
    tmp.replace(root / "targets" / "dragonfly.json")


def prometheus_cmd(root: Path, port: int) -> list[str]:
    return [PROMETHEUS_BIN, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1d", "--log.level=warn", "--rules.alert.resend-delay=5s"]


def write_alertmanager_config(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cfg = {"route": {"receiver": "lab-null", "group_by": ["alertname", "namespace"], "group_wait": "5s",
                     "group_interval": "30s", "repeat_interval": "12h"},
           "receivers": [{"name": "lab-null"}]}
    path = root / "alertmanager.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def alertmanager_cmd(root: Path, port: int) -> list[str]:
    return [ALERTMANAGER_BIN, f"--config.file={root / 'alertmanager.yml'}", f"--storage.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]


def create_silence(am_url: str, alertname: str = "Watchdog") -> str:
    now = dt.datetime.now(dt.UTC)
    body = {"matchers": [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}],
            "startsAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endsAt": (now + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "createdBy": "clusterdeck-lab", "comment": "lab: the deadman alert is expected to fire"}
    req = urllib.request.Request(f"{am_url}/api/v2/silences", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(json.loads(resp.read())["silenceID"])
