"""Bring the lab up and down: `up`, `down`, `status`, `env_lines` (used by the CLI and the tests)."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lab import files
from lab.procs import HOST, LabError, kill_group, kill_pid, port_open
from lab.restart import freeze_server, restart_server, stop_server, thaw_server
from lab.state import lab_dir, pid_alive, read_state

__all__ = ["up", "down", "status", "env_lines", "LabAlreadyRunning", "LabNotRunning", "LabError",
           "stop_server", "freeze_server", "thaw_server", "restart_server"]

MARKER = ".clusterdeck-lab"
PROCS = "procs.json"


class LabAlreadyRunning(RuntimeError):
    """`up` was asked for a directory where a lab already runs (or is starting)."""


class LabNotRunning(RuntimeError):
    """No lab runs in that directory."""


def _resolve(directory: Path | str | None) -> Path:
    return Path(directory).resolve() if directory else lab_dir().resolve()


def _record(d: Path, procs: dict[str, Any]) -> None:
    files.write_json(d / PROCS, procs)


def up(directory: Path | str | None = None, clean: bool = False) -> dict[str, Any]:
    """Start every server, seed them, load the cluster objects; return the lab.json state.
    `clean=True` plants no fault. Raises LabAlreadyRunning, or LabError naming what failed."""
    d = _resolve(directory)
    state = read_state(d)
    if state is not None:
        raise LabAlreadyRunning(f"a clusterdeck lab is already running in {d} (daemon pid {state['daemon_pid']}); "
                                f"run `down` first")
    d.mkdir(parents=True, exist_ok=True)
    lock = open(d / ".lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise LabAlreadyRunning(f"a clusterdeck lab is already starting in {d}") from None
    try:
        _stop_processes(d)  # leftovers of a lab that died or failed to start
        files.remove_known(d)
        (d / MARKER).write_text("clusterdeck lab directory: `down` removes it entirely\n")
        procs: dict[str, Any] = {"groups": {}, "pg_root": None}
        try:
            return _start(d, clean, procs)
        except BaseException:
            _stop_processes(d)
            raise
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _start(d: Path, clean: bool, procs: dict[str, Any]) -> dict[str, Any]:
    from lab import cluster, monitoring, plan as plan_mod, postgres, seed_redis, seed_s3
    from lab.procs import free_ports, http_ok, spawn, wait_until

    t0 = time.monotonic()
    for binary, what in (("/usr/bin/redis-server", "redis-server (apt-get install redis-server)"),
                         (monitoring.PROMETHEUS_BIN, "Prometheus (apt-get install prometheus)")):
        if not Path(binary).exists():
            raise LabError(f"{what} is required by the lab but {binary} is missing")
    plan = plan_mod.make_plan(planted=not clean)
    redis_port, pg_port, prom_port, am_port = free_ports(4)
    logs = files.log_paths(d)
    groups = procs["groups"]

    # 1. the daemon (slowest to import) first
    admin_pw = plan["redis"]["default"]["live"]
    files.write_json(d / "daemon-config.json", {"redis": {"host": HOST, "port": redis_port, "username": "default",
                                                          "password": admin_pw}}, private=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    daemon = spawn([sys.executable, "-m", "lab.daemon", "--dir", str(d)], logs["daemon"], cwd=d, env=env)
    groups["daemon"] = daemon
    _record(d, procs)
    # 2. redis
    (d / "redis").mkdir()
    (d / "redis" / "acl.conf").write_text(seed_redis.live_acl(plan))
    os.chmod(d / "redis" / "acl.conf", 0o600)
    redis = spawn(["/usr/bin/redis-server", *seed_redis.redis_args(redis_port, str(d / "redis"),
                                                                  str(d / "redis" / "acl.conf"),
                                                                  plan["redis_maxmemory"])], logs["redis"])
    groups["redis"] = redis
    # 3. prometheus + alertmanager
    am_ok = Path(monitoring.ALERTMANAGER_BIN).exists()
    monitoring.write_prometheus_config(d / "prometheus", am_port if am_ok else None)
    prom = spawn(monitoring.prometheus_cmd(d / "prometheus", prom_port), logs["prometheus"])
    groups["prometheus"] = prom
    am_error = None if am_ok else f"{monitoring.ALERTMANAGER_BIN} is missing"
    am = None
    if am_ok:
        monitoring.write_alertmanager_config(d / "alertmanager")
        am = spawn(monitoring.alertmanager_cmd(d / "alertmanager", am_port), logs["alertmanager"])
        groups["alertmanager"] = am
    _record(d, procs)
    # 4. postgres (initdb + start, synchronous)
    pg_root = postgres.make_root(d)
    procs["pg_root"] = str(pg_root)
    _record(d, procs)
    postgres.start(pg_root, pg_port, logs["setup"])
    groups["postgres"] = postgres.postmaster_pid(pg_root)
    _record(d, procs)
    # 5. seed redis and postgres
    wait_until(lambda: port_open(redis_port), 10, "redis-server", redis, logs["redis"])
    seed_redis.seed(HOST, redis_port, plan)
    postgres.seed(pg_root, pg_port, plan)
    # 6. daemon up: S3, exporter target, cluster objects
    wait_until(lambda: (d / "daemon.json").exists(), 15, "lab daemon", daemon, logs["daemon"])
    ports = json.loads((d / "daemon.json").read_text())
    monitoring.write_targets(d / "prometheus", ports["metrics_port"])
    s3_url = f"http://{HOST}:{ports['s3_port']}"
    seed_s3.seed(s3_url, plan)
    kube_url = f"http://{HOST}:{ports['kube_port']}"
    files.load_objects(kube_url, cluster.build(plan))
    # 7. prometheus and alertmanager answering; the silence
    prom_url = f"http://{HOST}:{prom_port}"
    wait_until(lambda: http_ok(f"{prom_url}/-/ready"), 15, "Prometheus", prom, logs["prometheus"])
    am_url = f"http://{HOST}:{am_port}"
    silence_id = None
    if am is not None:
        try:
            wait_until(lambda: http_ok(f"{am_url}/-/ready"), 10, "Alertmanager", am, logs["alertmanager"])
            silence_id = monitoring.create_silence(am_url)
        except Exception as exc:  # the lab works without Alertmanager; say so in lab.json
            am_error = str(exc)
            kill_group(am, timeout=2)
            groups.pop("alertmanager", None)
            _record(d, procs)
    # 8. files for clients
    endpoints = {
        "dragonfly.cache.svc:6379": f"{HOST}:{redis_port}",
        "dragonfly.cache.svc:9999": f"{HOST}:{ports['metrics_port']}",
        "ai-postgres-rw.ai-system.svc:5432": f"{HOST}:{pg_port}",
        "keycloak-db-rw.identity.svc:5432": f"{HOST}:{pg_port}",
        "rustfs-svc.storage.svc:9000": f"{HOST}:{ports['s3_port']}",
        "prometheus-operated.monitoring.svc:9090": f"{HOST}:{prom_port}",
        "alertmanager-operated.monitoring.svc:9093": f"{HOST}:{am_port}",
    }
    files.write_kubeconfig(d / "kubeconfig", kube_url, plan["kube_token"])
    files.write_config(d / "config.toml", d / "kubeconfig", d / "audit.log", endpoints)
    files.write_json(d / "secrets.json", plan_mod.all_secret_values(plan), private=True)
    files.write_json(d / "plan.json", plan, private=True)

    def entry(port: int, pid: int | None, scheme: str = "http", path: str = "") -> dict[str, Any]:
        return {"host": HOST, "port": port, "url": f"{scheme}://{HOST}:{port}{path}", "pid": pid}

    state: dict[str, Any] = {
        "version": 1,
        "dir": str(d),
        "planted": plan["planted"],
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "startup_seconds": round(time.monotonic() - t0, 2),
        "daemon_pid": daemon,
        "kubeconfig": str(d / "kubeconfig"),
        "config": str(d / "config.toml"),
        "context": "clusterdeck-lab",
        "secrets_file": str(d / "secrets.json"),
        "plan_file": str(d / "plan.json"),
        "faults_file": str(d / "faults.json"),
        "redis": {**entry(redis_port, redis, "redis"), "aclfile": str(d / "redis" / "acl.conf"),
                  "maxmemory": plan["redis_maxmemory"], "server": "redis-server 7.0 (Dragonfly stand-in)"},
        "postgres": {**entry(pg_port, groups["postgres"], "postgresql"), "data_dir": str(pg_root / "data"),
                     "socket_dir": str(pg_root), "superuser": "postgres"},
        "s3": {**entry(ports["s3_port"], daemon), "region": seed_s3.REGION},
        "kube": entry(ports["kube_port"], daemon),
        "prometheus": {**entry(prom_port, prom), "job": monitoring.SCRAPE_JOB},
        "alertmanager": {**entry(am_port, am if am is not None and silence_id else None),
                         "available": silence_id is not None, "silence_id": silence_id, "error": am_error},
        "metrics": {**entry(ports["metrics_port"], daemon, path="/metrics"), "job": monitoring.SCRAPE_JOB},
        "endpoints": endpoints,
        "logs": {k: str(v) for k, v in logs.items()} | {"postgres": str(pg_root / "postgresql.log")},
    }
    files.write_json(d / "lab.json", state)
    files.post_procs(kube_url, procs)
    return state


def _load_procs(d: Path) -> dict[str, Any]:
    try:
        return json.loads((d / PROCS).read_text())
    except (OSError, ValueError):
        pass
    try:  # an old or partial lab: fall back to lab.json
        state = json.loads((d / "lab.json").read_text())
    except (OSError, ValueError):
        return {"groups": {}, "pg_root": None}
    groups = {k: state[k].get("pid") for k in ("redis", "prometheus", "alertmanager") if isinstance(state.get(k), dict)}
    groups["daemon"] = state.get("daemon_pid")
    sock = (state.get("postgres") or {}).get("socket_dir")
    return {"groups": groups, "pg_root": sock}


def _stop_processes(d: Path) -> bool:
    from lab import postgres

    procs = _load_procs(d)
    found = False
    if procs.get("pg_root"):
        root = Path(procs["pg_root"])
        if root.exists():
            found = True
            postgres.stop(root)
    for name, pid in procs.get("groups", {}).items():
        if isinstance(pid, int) and pid > 1 and pid_alive(pid):
            found = True
            if name == "postgres":
                kill_pid(pid, timeout=3)
            else:
                kill_group(pid)
    (d / PROCS).unlink(missing_ok=True)
    return found


def down(directory: Path | str | None = None) -> bool:
    """Stop every lab process and remove the lab directory. True if there was a lab there."""
    d = _resolve(directory)
    if not d.exists():
        return False
    had_lab = (d / "lab.json").exists() or (d / PROCS).exists()
    had_lab = _stop_processes(d) or had_lab
    if (d / MARKER).exists():
        shutil.rmtree(d, ignore_errors=True)
    else:
        files.remove_known(d)
    return had_lab


def status(directory: Path | str | None = None) -> dict[str, Any] | None:
    """lab.json of the running lab plus `alive`: which of its processes still run; None if none runs."""
    state = read_state(_resolve(directory))
    if state is None:
        return None
    alive = {}
    for name in ("redis", "postgres", "prometheus", "alertmanager", "kube", "s3", "metrics"):
        entry = state.get(name) or {}
        pid, port = entry.get("pid"), entry.get("port")
        alive[name] = bool(pid and pid_alive(pid) and port and port_open(port))
    state["alive"] = alive
    return state


def env_lines(directory: Path | str | None = None) -> str:
    """Shell lines pointing kubectl and clusterdeck at the running lab."""
    d = _resolve(directory)
    state = read_state(d)
    if state is None:
        raise LabNotRunning(f"no clusterdeck lab is running in {d}; start one with `up`")
    return (f"export KUBECONFIG={shlex.quote(state['kubeconfig'])}\n"
            f"export CLUSTERDECK_CONFIG={shlex.quote(state['config'])}\n")
