"""Files the lab writes for its clients: kubeconfig, config.toml, JSON state, log paths."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "clusterdeck-lab"
KNOWN = ["lab.json", "procs.json", "daemon.json", "daemon-config.json", "s3-server.json", "s3-server.tmp",
         "secrets.json", "plan.json", "faults.json",
         "kubeconfig", "config.toml", "audit.log", "kube-requests.log", "s3-requests.log", "daemon.log",
         "redis.log", "prometheus.log", "alertmanager.log", "setup.log", "redis", "prometheus", "alertmanager",
         "pg", ".clusterdeck-lab"]


def log_paths(d: Path) -> dict[str, Path]:
    return {"kube_requests": d / "kube-requests.log", "s3_requests": d / "s3-requests.log",
            "daemon": d / "daemon.log", "redis": d / "redis.log", "prometheus": d / "prometheus.log",
            "alertmanager": d / "alertmanager.log", "setup": d / "setup.log"}


def write_json(path: Path, data: Any, private: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    tmp.replace(path)


def remove_known(d: Path) -> None:
    """Remove the files a lab creates (not the directory: it may not be the lab's alone)."""
    for name in KNOWN:
        p = d / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


LOAD_BATCH_BYTES = 768 * 1024
"""Largest body of one `POST /_lab/load` (the daemon's HTTP server takes 1 MiB at most)."""


def load_objects(kube_url: str, objects: list[dict[str, Any]]) -> int:
    """Load `objects` into the lab's Kubernetes API, in as many requests as their size needs."""
    batches: list[list[bytes]] = [[]]
    size = 0
    for obj in objects:
        text = json.dumps(obj).encode()
        if batches[-1] and size + len(text) > LOAD_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(text)
        size += len(text) + 1
    loaded = 0
    for batch in batches:
        req = urllib.request.Request(f"{kube_url}/_lab/load", data=b"[" + b",".join(batch) + b"]", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            loaded += int(json.loads(resp.read())["loaded"])
    return loaded


def post_procs(kube_url: str, procs: dict[str, Any]) -> None:
    """Tell the daemon which processes make up the lab (it stops them if the dir vanishes)."""
    req = urllib.request.Request(f"{kube_url}/_lab/procs", data=json.dumps(procs).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def write_kubeconfig(path: Path, server: str, token: str) -> None:
    cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
           "users": [{"name": CONTEXT, "user": {"token": token}}],
           "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
           "current-context": CONTEXT}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(path: Path, kubeconfig: Path, audit_log: Path, endpoints: dict[str, str]) -> None:
    """The clusterdeck config (format: checks/config.py) pointing at this lab."""
    lines = ["# written by the clusterdeck lab; removed by `lab down`",
             "timeout = 5.0",
             f"kubeconfig = {_toml_str(str(kubeconfig))}",
             f"context = {_toml_str(CONTEXT)}",
             f"audit_log = {_toml_str(str(audit_log))}",
             "",
             "[endpoints]"]
    lines += [f"{_toml_str(k)} = {_toml_str(v)}" for k, v in endpoints.items()]
    path.write_text("\n".join(lines) + "\n")
