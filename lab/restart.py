"""Stop, freeze and bring back one server of a running lab (fault-injection tests).

`stop_server(state, "redis")` kills a server the way a crash would (Redis: SIGKILL; PostgreSQL:
`pg_ctl stop -m immediate`; Prometheus/Alertmanager: SIGKILL); `freeze_server` / `thaw_server`
SIGSTOP / SIGCONT it (a hung server: the port accepts, nothing answers); `restart_server` starts
it again on the same port with the same data directory and config, waits until it answers, and
records the new pid in lab.json, procs.json and the `state` dict given (so `down` stops it).
The Kubernetes API and S3 live in the daemon: use `lab.faults.write_faults` for those.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from lab import files
from lab.procs import LabError, http_ok, kill_group, port_open, run, spawn, wait_until
from lab.state import pid_alive

SERVERS = ("redis", "postgres", "prometheus", "alertmanager")
"""Servers that run as their own process (the others are threads of the lab daemon)."""


def _check(name: str) -> None:
    if name not in SERVERS:
        raise ValueError(f"unknown lab server {name!r}; one of {', '.join(SERVERS)} (kube and s3: use faults.json)")


def _pid(state: dict[str, Any], name: str) -> int | None:
    pid = (state.get(name) or {}).get("pid")
    return pid if isinstance(pid, int) and pid > 1 else None


def _pg_root(state: dict[str, Any]) -> Path:
    return Path(state["postgres"]["socket_dir"])


def stop_server(state: dict[str, Any], name: str) -> None:
    """Kill one server abruptly; its port refuses connections afterwards."""
    _check(name)
    pid = _pid(state, name)
    if name == "postgres":
        from lab.postgres import PG_BIN, _as_pg_user

        run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(_pg_root(state) / "data"), "-m", "immediate",
             "-w", "-t", "10", "stop"], timeout=20)
    elif pid is not None:
        try:
            os.killpg(pid, signal.SIGKILL)  # a crash, not a shutdown (works on a frozen server too)
        except ProcessLookupError:
            pass
        kill_group(pid, timeout=2)  # waits until the group is gone (and reaps it when it is ours)
    port = state[name]["port"]
    wait_until(lambda: not port_open(port), 10, f"{name} to stop")


def freeze_server(state: dict[str, Any], name: str) -> None:
    """SIGSTOP the server (PostgreSQL: the postmaster): it keeps its port but never answers."""
    _check(name)
    pid = _pid(state, name)
    if pid is None or not pid_alive(pid):
        raise LabError(f"{name} is not running")
    os.kill(pid, signal.SIGSTOP)


def thaw_server(state: dict[str, Any], name: str) -> None:
    """SIGCONT a frozen server."""
    _check(name)
    pid = _pid(state, name)
    if pid is not None and pid_alive(pid):
        os.kill(pid, signal.SIGCONT)


def _frozen(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "T"
    except (OSError, IndexError):
        return False


def restart_server(state: dict[str, Any], name: str, timeout: float = 20.0) -> int:
    """Start a stopped (or thaw a frozen) server again on its port; returns its pid once it answers."""
    _check(name)
    pid = _pid(state, name)
    if pid is not None and pid_alive(pid) and name != "postgres":
        if _frozen(pid):
            os.kill(pid, signal.SIGCONT)
        return pid
    d = Path(state["dir"])
    logs = files.log_paths(d)
    port = state[name]["port"]
    if name == "redis":
        from lab import seed_redis

        redis_dir = d / "redis"
        pid = spawn(["/usr/bin/redis-server", *seed_redis.redis_args(port, str(redis_dir), state["redis"]["aclfile"],
                                                                      state["redis"]["maxmemory"])], logs["redis"])
        wait_until(lambda: port_open(port), timeout, "redis-server", pid, logs["redis"])
    elif name == "postgres":
        from lab import postgres

        root = _pg_root(state)
        old = postgres.postmaster_pid(root)
        if old is not None and pid_alive(old):
            if _frozen(old):
                os.kill(old, signal.SIGCONT)
            return old
        run([*postgres._as_pg_user(), str(postgres.PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-l",
             str(root / "postgresql.log"), "-w", "-t", str(int(timeout)), "start"], log=logs["setup"],
            timeout=timeout + 10)
        wait_until(lambda: port_open(port), timeout, "PostgreSQL")
        pid = postgres.postmaster_pid(root)
    else:
        from lab import monitoring

        root = d / name
        cmd = monitoring.prometheus_cmd(root, port) if name == "prometheus" else monitoring.alertmanager_cmd(root, port)
        pid = spawn(cmd, logs[name])
        wait_until(lambda: http_ok(f"{state[name]['url']}/-/ready"), timeout, name, pid, logs[name])
    _record_pid(state, name, pid)
    return int(pid or 0)


def _record_pid(state: dict[str, Any], name: str, pid: int | None) -> None:
    d = Path(state["dir"])
    state[name]["pid"] = pid
    try:
        on_disk = json.loads((d / "lab.json").read_text())
        on_disk[name]["pid"] = pid
        files.write_json(d / "lab.json", on_disk)
    except (OSError, ValueError, KeyError):
        pass
    try:
        procs = json.loads((d / "procs.json").read_text())
        procs.setdefault("groups", {})[name] = pid
        files.write_json(d / "procs.json", procs)
    except (OSError, ValueError):
        pass
