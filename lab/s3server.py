"""The lab's RustFS stand-in: moto's S3/IAM WSGI app behind a logging and fault-injecting
middleware, served by waitress in threads with keep-alive. Adds RustFS's public `/health` endpoints."""

from __future__ import annotations

import io
import re
import threading
import urllib.parse
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from lab.faults import log_line, read_faults

_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")
HANDLER_THREADS = 32
MAX_CONNECTIONS = 4000
"""Open connections the lab's S3 server accepts (file descriptors: the soft limit is raised to fit)."""
HANG_S = 60.0
"""A request under the "hang" fault is held this long at most, or until the fault is lifted."""


def _xml_error(code: str, message: str, resource: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><Resource>{resource}</Resource>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()


def _form_action(environ: dict[str, Any]) -> str:
    """The `Action` of a form-encoded POST (IAM/STS query API); the body is put back for the app."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return ""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    values = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action") or [""]
    return re.sub(r"[^A-Za-z0-9]", "", values[0])[:64]


class S3Middleware:
    """Logs `METHOD path?query status access-key` per request to DIR/s3-requests.log; a form-encoded POST
    (the IAM/STS query API, e.g. ListUsers) also gets ` Action=<name>` so that reads and writes can be told
    apart in the log."""

    def __init__(self, app: Callable[..., Iterable[bytes]], lab_dir: Path) -> None:
        self.app = app
        self.lab_dir = lab_dir

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # moto checks signatures over the path as it arrived (RAW_URI, as werkzeug and gunicorn name it; waitress
        # gives it as REQUEST_URI): decoded, a key such as "a%1Bb" would be signed one way and checked another
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        path_qs = f"{path}?{query}" if query else path
        m = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", "") or "")
        key = m.group(1) if m else "-"
        status_box: list[str] = ["-"]
        action = _form_action(environ) if method == "POST" else ""

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_box[0] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            if path in ("/health", "/health/ready", "/health/live") and method in ("GET", "HEAD"):
                return self._plain(_start, "200 OK", b'{"status":"ok"}', "application/json")
            faults = read_faults(self.lab_dir)
            mode = faults.get("s3")
            if faults.get("s3_match") and faults["s3_match"] not in path_qs:
                mode = None
            if mode == "hang":  # held until the fault is lifted (at most HANG_S): its thread is free again
                deadline = time.monotonic() + HANG_S
                while time.monotonic() < deadline and read_faults(self.lab_dir).get("s3") == "hang":
                    time.sleep(0.2)
            elif mode == "slow":
                time.sleep(3)
            elif mode in ("500", 500):
                body = _xml_error("InternalError", "We encountered an internal error, please try again.", path)
                return self._plain(_start, "500 Internal Server Error", body, "application/xml")
            elif mode in ("503", 503):
                body = _xml_error("SlowDown", "Please reduce your request rate.", path)
                return self._plain(_start, "503 Service Unavailable", body, "application/xml")
            return self.app(environ, _start)
        finally:
            if not path.startswith("/moto-api"):
                log_line(self.lab_dir / "s3-requests.log", f"{method} {path_qs} {status_box[0]} {key}"
                         + (f" Action={action}" if action else ""))

    @staticmethod
    def _plain(start: Callable[..., Any], status: str, body: bytes, ctype: str) -> list[bytes]:
        start(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]


class S3Server:
    """moto behind the middleware, served by waitress: HTTP/1.1 with keep-alive, as RustFS answers. werkzeug's
    development server (moto's own) closes every connection after one answer, so each S3/IAM request of the
    lab paid a new TCP connection and a new server thread, a cost the real server does not have."""

    def __init__(self, lab_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        import logging

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import create_server

        logging.getLogger("waitress").setLevel(logging.ERROR)  # "task queue depth" while faults hang requests
        app = S3Middleware(DomainDispatcherApplication(create_backend_app), lab_dir)
        # threads: requests of a "hang" fault each hold one until the fault is lifted. connection_limit: waitress
        # stops accepting at 100 open connections by default, and each client keeps its pool's connections
        # open (a test session makes hundreds of clients): idle ones are closed after channel_timeout instead
        self.server: Any = create_server(app, host=host, port=port, threads=HANDLER_THREADS, ident="",
                                         asyncore_use_poll=True, connection_limit=MAX_CONNECTIONS,
                                         channel_timeout=60, cleanup_interval=10, expose_tracebacks=False)
        self.thread = threading.Thread(target=self.server.run, name="s3", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.close()


def serve_in_child(lab_dir: Path, timeout: float = 20.0) -> tuple[Any, int]:
    """Start the S3 server in a process of its own (`python -m lab.s3server`), with the daemon's process group:
    moto's S3/IAM handlers are CPU-heavy Python, and in the daemon they shared one GIL with the Kubernetes
    API, whose answers then waited behind them. (process, port)."""
    import json
    import subprocess
    import sys

    ready = lab_dir / "s3-server.json"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "lab.s3server", "--dir", str(lab_dir), "--ready", str(ready)],
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                return proc, int(json.loads(ready.read_text())["port"])
            except (ValueError, KeyError, OSError):
                pass
        if proc.poll() is not None:
            raise RuntimeError(f"the lab's S3 server exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the lab's S3 server did not start")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import os
    import signal

    parser = argparse.ArgumentParser(prog="python -m lab.s3server")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--ready", required=True, type=Path)
    args = parser.parse_args(argv)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_CONNECTIONS + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    server = S3Server(args.dir.resolve())
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    tmp = args.ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "port": server.port}))
    tmp.replace(args.ready)
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:  # the daemon is gone: so are we
            break
    os._exit(0)  # do not wait for request threads still sleeping in a "hang" fault


if __name__ == "__main__":
    raise SystemExit(main())
