"""Small real servers for the source tests: redis-server, PostgreSQL 15, moto, Prometheus.

Each runs on a free loopback port in its own temp dir and is stopped (by its own pid)
at teardown. Never the system Redis/PostgreSQL on the standard ports.
Use from a test module: `from tests.servers import redis_server  # noqa: F401`.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
REDIS_BIN = "/usr/bin/redis-server"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PROMETHEUS_BIN = "/usr/bin/prometheus"
ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP (backlog) but never answers."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# ---------------------------------------------------------------- redis-server 7.0

REDIS_PASSWORDS = {"default": "admin-pw", "litellm": "litellm-pw", "langfuse": "langfuse-pw",
                   "limited": "limited-pw", "nodryrun": "nodryrun-pw", "retired": "retired-pw"}
REDIS_ACL = """\
user default on >admin-pw ~* &* +@all
user litellm on >litellm-pw ~litellm:* resetchannels -@all +@read +@write -@dangerous
user langfuse on >langfuse-pw ~langfuse:* resetchannels -@all +@read +@write +@scripting -@dangerous
user limited on >limited-pw ~* &* +@all -@dangerous
user nodryrun on >nodryrun-pw ~* &* +@all -acl|dryrun
user retired off >retired-pw ~* +@all
"""


@dataclass
class RedisServer:
    host: str
    port: int
    dir: Path
    aclfile: Path
    proc: subprocess.Popen = field(repr=False)
    passwords: dict[str, str] = field(default_factory=lambda: dict(REDIS_PASSWORDS), repr=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if not os.path.exists(REDIS_BIN):
        pytest.fail(f"{REDIS_BIN} missing: apt-get install -y redis-server")
    d = Path(tempfile.mkdtemp(prefix="cd-redis-"))
    acl = d / "users.acl"
    acl.write_text(REDIS_ACL)
    port = free_port()
    conf = d / "redis.conf"
    conf.write_text(f"port {port}\nbind {LOOPBACK}\ndir {d}\nsave \"\"\nappendonly no\n"
                    f"aclfile {acl}\nprotected-mode no\nlogfile {d}/redis.log\n")
    proc = subprocess.Popen([REDIS_BIN, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc, "redis-server")
        yield RedisServer(LOOPBACK, port, d, acl, proc)
    finally:
        stop(proc)
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- PostgreSQL 15

PG_PASSWORDS = {"postgres": "pg-admin-pw", "app": "app-pw", "nologin": "nologin-pw", "expired": "expired-pw",
                "limited": "limited-pw", "nohba": "nohba-pw", "viewer": "viewer-pw", "noconnect": "noconnect-pw"}
PG_SETUP = """
CREATE ROLE allowed NOLOGIN;
CREATE ROLE app LOGIN PASSWORD 'app-pw' IN ROLE allowed;
CREATE ROLE nologin NOLOGIN PASSWORD 'nologin-pw' IN ROLE allowed;
CREATE ROLE expired LOGIN PASSWORD 'expired-pw' VALID UNTIL '2001-01-01 00:00:00+00' IN ROLE allowed;
CREATE ROLE limited LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT 1 IN ROLE allowed;
CREATE ROLE nohba LOGIN PASSWORD 'nohba-pw';
CREATE ROLE viewer LOGIN PASSWORD 'viewer-pw' IN ROLE allowed, pg_monitor;
CREATE ROLE noconnect LOGIN PASSWORD 'noconnect-pw' IN ROLE allowed;
CREATE ROLE nopw LOGIN IN ROLE allowed;
CREATE ROLE forever LOGIN PASSWORD 'forever-pw' VALID UNTIL 'infinity' IN ROLE allowed;
"""
PG_HBA = f"""\
local all all trust
host all postgres,ghost {LOOPBACK}/32 scram-sha-256
host all +allowed {LOOPBACK}/32 scram-sha-256
"""


@dataclass
class PgServer:
    host: str
    port: int
    socket_dir: Path
    data: Path
    passwords: dict[str, str] = field(default_factory=lambda: dict(PG_PASSWORDS), repr=False)

    def admin_conninfo(self) -> dict:
        """Superuser over the unix socket (trust), for test setup."""
        return dict(host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres",
                    autocommit=True)


def _as_postgres(*cmd: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"{PG_BIN}/initdb missing: apt-get install -y postgresql-15")
    import psycopg

    base = Path(tempfile.mkdtemp(prefix="cd-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORDS["postgres"] + "\n")
    shutil.chown(base, "postgres", "postgres")
    for p in (sock, pwfile):
        shutil.chown(p, "postgres", "postgres")
    os.chmod(base, 0o755)
    port = free_port()
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"\nport = {port}\nlisten_addresses = '{LOOPBACK}'\nunix_socket_directories = '{sock}'\n"
                "max_connections = 30\nfsync = off\nlog_min_messages = warning\n")
    (data / "pg_hba.conf").write_text(PG_HBA)
    _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "start")
    server = PgServer(LOOPBACK, port, sock, data)
    try:
        with psycopg.connect(**server.admin_conninfo()) as conn:
            conn.execute(PG_SETUP)
            conn.execute("CREATE DATABASE appdb OWNER app")
            conn.execute("REVOKE CONNECT ON DATABASE appdb FROM PUBLIC")
            conn.execute("GRANT CONNECT ON DATABASE appdb TO app, limited, viewer")
        yield server
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- moto (S3 + IAM), own process

BUCKET = "dragonfly-backups"
OTHER_BUCKET = "langfuse-events"
_MOTO_MAIN = """
import sys
from moto.server import ThreadedMotoServer
s = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
s.start()
print(s.get_host_and_port()[1], flush=True)
sys.stdin.read()
s.stop()
"""


def _policy(list_arn: str, object_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": [list_arn]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [object_arn]}]})


@dataclass
class MotoServer:
    endpoint: str
    keys: dict[str, tuple[str, str]] = field(repr=False)
    """IAM user → (access key, secret key): good, wrongarn, admin."""
    proc: subprocess.Popen = field(repr=False)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    import boto3

    proc = subprocess.Popen([sys.executable, "-c", _MOTO_MAIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(proc.stdout.readline())
        endpoint = f"http://{LOOPBACK}:{port}"
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
                  aws_secret_access_key="setup")
        s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
        for b in (BUCKET, OTHER_BUCKET):
            s3.create_bucket(Bucket=b)
        for i in range(3):
            s3.put_object(Bucket=BUCKET, Key=f"snapshots/dump-{i}.dfs", Body=b"x" * (100 * (i + 1)))
        arn = f"arn:aws:s3:::{BUCKET}"
        policies = {"good": _policy(arn, f"{arn}/*"), "wrongarn": _policy(f"{arn}/*", f"{arn}/*"),
                    "admin": json.dumps({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}]})}
        keys = {}
        for user, doc in policies.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=doc)
            k = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()  # enforce IAM from now on
        yield MotoServer(endpoint, keys, proc)
    finally:
        if proc.stdin:
            proc.stdin.close()
        stop(proc)


# ---------------------------------------------------------------- Prometheus + Alertmanager

METRICS = b"""# TYPE dragonfly_memory_used_bytes gauge
dragonfly_memory_used_bytes 900
dragonfly_memory_max_bytes 1000
dragonfly_max_clients 100
dragonfly_connected_clients{listener="main"} 5
"""
RULES = """\
groups:
- name: dragonfly.rules
  rules:
  - alert: DragonflyMemoryHigh
    expr: dragonfly_memory_used_bytes / dragonfly_memory_max_bytes > 0.8
    labels: {severity: warning}
    annotations: {summary: "Dragonfly memory above 80%"}
  - alert: DragonflyReplicationLag
    expr: dragonfly_replication_lag_seconds > 10
    for: 1m
  - alert: DragonflyConnectionsHigh
    expr: sum by (instance) (dragonfly_connected_clients) / on(instance) dragonfly_maxclients > 0.8
  - alert: DragonflyDown
    expr: up{job="dragonfly"} == 0
  - alert: BrokenRule
    expr: abs({__name__=~"dragonfly_memory_.*"}) > 0
"""


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(METRICS)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class PromServer:
    url: str
    alertmanager_url: str


def _wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} not ready at {url} within {timeout}s")


@pytest.fixture(scope="session")
def prom_server() -> Iterator[PromServer]:
    for binary, pkg in ((PROMETHEUS_BIN, "prometheus"), (ALERTMANAGER_BIN, "prometheus-alertmanager")):
        if not os.path.exists(binary):
            pytest.fail(f"{binary} missing: `apt-get install -y {pkg}` is the fix")
    d = Path(tempfile.mkdtemp(prefix="cd-prom-"))
    target = http.server.ThreadingHTTPServer((LOOPBACK, 0), _Metrics)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    am_port, prom_port = free_port(), free_port()
    (d / "am.yml").write_text("route: {receiver: blackhole, group_wait: 0s}\nreceivers: [{name: blackhole}]\n")
    (d / "rules.yml").write_text(RULES)
    (d / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{d}/rules.yml]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{LOOPBACK}:{am_port}']}}]}}]}}\n"
        "scrape_configs:\n- job_name: dragonfly-metrics\n"
        f"  static_configs: [{{targets: ['{LOOPBACK}:{target.server_address[1]}']}}]\n")
    am = subprocess.Popen([ALERTMANAGER_BIN, f"--config.file={d}/am.yml", f"--storage.path={d}/am",
                           f"--web.listen-address={LOOPBACK}:{am_port}", "--cluster.listen-address="],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = subprocess.Popen([PROMETHEUS_BIN, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
                             f"--web.listen-address={LOOPBACK}:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://{LOOPBACK}:{am_port}/-/ready", am, "alertmanager")
        _wait_http(f"http://{LOOPBACK}:{prom_port}/-/ready", prom, "prometheus")
        yield PromServer(f"http://{LOOPBACK}:{prom_port}", f"http://{LOOPBACK}:{am_port}")
    finally:
        stop(prom)
        stop(am)
        target.shutdown()
        shutil.rmtree(d, ignore_errors=True)
