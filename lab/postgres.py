"""The CloudNativePG stand-in: one PostgreSQL 15 server, own data dir, scram auth, every statement logged.

PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user, and its
directory lives outside the lab dir (test dirs are often 0700 root): `/tmp/clusterdeck-pg-*`,
recorded in the lab state and removed by `down`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lab.procs import LabError, port_open, run, wait_until

PG_BIN = Path(os.environ.get("CLUSTERDECK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_pg_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []


def make_root(lab_dir: Path) -> Path:
    if not (PG_BIN / "initdb").exists():
        raise LabError(f"PostgreSQL 15 not found: {PG_BIN}/initdb is missing (apt-get install postgresql-15)")
    if os.getuid() != 0:
        root = lab_dir / "pg"
        root.mkdir(mode=0o700)
        return root
    try:
        pg_user = pwd.getpwnam("postgres")
    except KeyError:
        raise LabError("running as root, but there is no `postgres` OS user to run PostgreSQL as") from None
    root = Path(tempfile.mkdtemp(prefix="clusterdeck-pg-"))
    os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
    return root


def start(root: Path, port: int, log: Path) -> None:
    """initdb + configure + pg_ctl start (waits until it accepts connections)."""
    data = root / "data"
    pg_log = root / "postgresql.log"
    run([*_as_pg_user(), str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
         "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], log=log)
    conf = f"""
# clusterdeck lab
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{root}'
password_encryption = 'scram-sha-256'
log_statement = 'all'
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
"""
    hba = ("# clusterdeck lab: local socket for the lab's own setup, scram over TCP\n"
           "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    _write_as_pg(data / "postgresql.conf", (data / "postgresql.conf").read_text() + conf)
    _write_as_pg(data / "pg_hba.conf", hba)
    run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(pg_log), "-w", "-t", "20",
         "start"], log=log, timeout=30)
    wait_until(lambda: port_open(port), 10, "PostgreSQL", log=pg_log)


def _write_as_pg(path: Path, text: str) -> None:
    st = path.stat()
    path.write_text(text)
    os.chown(path, st.st_uid, st.st_gid)


def postmaster_pid(root: Path) -> int | None:
    try:
        return int((root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop(root: Path) -> None:
    """pg_ctl stop -m immediate, then kill the postmaster if it is still there; remove the dir."""
    from lab.procs import kill_group

    pid = postmaster_pid(root)
    if (root / "data").is_dir():
        try:
            run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
                 "-w", "-t", "10", "stop"], timeout=20)
        except (LabError, OSError, Exception):
            pass
    if pid is not None:
        kill_group(pid, timeout=3)
    shutil.rmtree(root, ignore_errors=True)


def connect_admin(root: Path, port: int, dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(host=str(root), port=port, user="postgres", dbname=dbname, autocommit=True,
                           connect_timeout=10)


def seed(root: Path, port: int, plan: dict[str, Any]) -> None:
    """Roles and databases as the CNPG clusters declare them, with the planted drifts.
    Statement logging is off for this session so no password reaches the server log."""
    from psycopg import sql

    with connect_admin(root, port) as conn:
        conn.execute("SET log_statement = 'none'")
        conn.execute(sql.SQL("ALTER ROLE postgres WITH PASSWORD {}").format(sql.Literal(plan["pg_superuser"])))
        conn.execute("CREATE ROLE streaming_replica WITH REPLICATION LOGIN")
        for role, spec in plan["pg"].items():
            ident = sql.Identifier(role)
            # what the operator last applied: the Secret's password, except where the Secret moved on
            applied = spec["secret"] if spec.get("manual_alter") else spec["db"]
            until = sql.SQL(" VALID UNTIL {}").format(sql.Literal(spec["valid_until"])) if spec["valid_until"] else sql.SQL("")
            conn.execute(sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}{}").format(ident, sql.Literal(applied), until))
            spec["xmin"] = _xmin(conn, role)
            if spec.get("manual_alter"):
                conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(ident, sql.Literal(spec["db"])))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, ident))
            conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident))
        for role in plan["pg"]:
            with connect_admin(root, port, dbname=role) as db:
                db.execute("SET log_statement = 'none'")
                db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
                db.execute("CREATE TABLE lab_items (id serial PRIMARY KEY, note text, created timestamptz DEFAULT now())")
                db.execute("INSERT INTO lab_items (note) VALUES ('seeded by the clusterdeck lab')")


def _xmin(conn: Any, role: str) -> int:
    row = conn.execute("SELECT xmin::text::bigint FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
    return int(row[0])
