"""The lab's Python daemon: kmock Kubernetes API and the Dragonfly exporter, and moto S3/IAM in a child process.

Run as `python -m lab.daemon --dir DIR` (the manager starts it detached). It reads
DIR/daemon-config.json, starts its servers on free loopback ports and, once they answer,
writes DIR/daemon.json: {"pid", "kube_port", "s3_port", "metrics_port"}.
Objects are loaded into the Kubernetes API with `POST /_lab/load` (a JSON list of objects,
each with a `_resource` key such as `v1/secrets`); that endpoint is not logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path


async def _serve(lab_dir: Path, cfg: dict) -> None:
    import kmock

    from lab.kube import LabKube
    from lab.metrics import MetricsServer, redis_info_source
    from lab.s3server import serve_in_child

    s3, s3_port = await asyncio.to_thread(serve_in_child, lab_dir)
    r = cfg["redis"]
    metrics = MetricsServer(redis_info_source(r["host"], r["port"], r["username"], r["password"]))
    metrics.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with LabKube(lab_dir=lab_dir) as kube, kmock.Server(kube) as srv:
            info = {"pid": os.getpid(), "kube_port": srv.port, "s3_port": s3_port,
                    "metrics_port": metrics.port}
            tmp = lab_dir / "daemon.json.tmp"
            tmp.write_text(json.dumps(info))
            tmp.replace(lab_dir / "daemon.json")
            print(f"lab daemon ready: {info}", flush=True)
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=2)
                except asyncio.TimeoutError:
                    kube.procs = _read_json(lab_dir / "procs.json") or kube.procs
                    if not (lab_dir / "daemon.json").exists():
                        # the lab dir was removed without `down`: take the other servers along
                        await asyncio.to_thread(_stop_orphans, kube.procs)
                        break
    finally:
        s3.terminate()
        try:
            s3.wait(3)
        except Exception:  # noqa: BLE001 - it is going anyway
            s3.kill()
        metrics.stop()


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _stop_orphans(procs: dict) -> None:
    from lab import postgres
    from lab.procs import kill_group
    from lab.state import pid_alive

    if procs.get("pg_root") and Path(procs["pg_root"]).exists():
        postgres.stop(Path(procs["pg_root"]))
    for name, pid in (procs.get("groups") or {}).items():
        if name not in ("daemon", "postgres") and isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
            kill_group(pid, timeout=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.daemon")
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    lab_dir: Path = args.dir.resolve()
    cfg = json.loads((lab_dir / "daemon-config.json").read_text())
    asyncio.run(_serve(lab_dir, cfg))
    sys.stdout.flush()
    os._exit(0)  # do not wait for request threads still sleeping in a "hang" fault


if __name__ == "__main__":
    sys.exit(main())
