"""The Dragonfly stand-in (redis-server 7.0): ACL files, memory fill, slowlog and ACL LOG entries."""

from __future__ import annotations

import hashlib
from typing import Any

ACL_ORDER = ["default", "keycloak", "appcache", "litellm", "langfuse", "n8n"]


def source_acl(plan: dict[str, Any]) -> str:
    """The ACL source as the `dragonfly-acl` ConfigMap holds it (seed 001 format, `>password`)."""
    lines = [f"user {u} on >{plan['redis'][u]['source']} {plan['redis'][u]['rules']}" for u in ACL_ORDER]
    return "\n\n".join(lines) + "\n"


def live_acl(plan: dict[str, Any]) -> str:
    """The aclfile the live server loaded (hashed passwords; planted users may be missing)."""
    lines = []
    for u in ACL_ORDER:
        live = plan["redis"][u]["live"]
        if live is not None:
            digest = hashlib.sha256(live.encode()).hexdigest()
            lines.append(f"user {u} on #{digest} {plan['redis'][u]['rules']}")
    return "\n".join(lines) + "\n"


def redis_args(port: int, directory: str, aclfile: str, maxmemory: int) -> list[str]:
    return ["--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", directory,
            "--aclfile", aclfile, "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--maxmemory", str(maxmemory), "--maxmemory-policy", "allkeys-lru",
            "--slowlog-log-slower-than", "10000", "--slowlog-max-len", "128",
            "--enable-debug-command", "local", "--maxclients", "1000", "--acllog-max-len", "128",
            "--lazyfree-lazy-user-del", "no"]


def _used(r: Any) -> int:
    return int(r.info("memory")["used_memory"])


def fill_memory(r: Any, maxmemory: int, fraction: float, evict_first: bool) -> None:
    """Fill with `cache:item:N` keys to about `fraction` of maxmemory. With evict_first, overshoot
    first so the eviction counters move, then delete back down to the target."""
    size = 1024
    before = _used(r)
    count = 2000
    r.execute_command("DEBUG", "POPULATE", count, "cache:item", size)
    per_key = max(size, (_used(r) - before) / count)

    def populate_to(target: float) -> None:
        nonlocal count
        for _ in range(4):
            missing = target * maxmemory - _used(r)
            if missing <= per_key:
                return
            count += int(missing / per_key)
            r.execute_command("DEBUG", "POPULATE", count, "cache:item", size)

    if evict_first:
        populate_to(0.97)
        count += int(0.06 * maxmemory / per_key)
        r.execute_command("DEBUG", "POPULATE", count, "cache:item", size)
        r.set("cache:lab:evict-trigger", "1")  # eviction runs before the next write
        for _ in range(6):
            excess = _used(r) - fraction * maxmemory
            if excess <= 0:
                break
            n = int(excess / per_key) + 50
            keys = []
            for key in r.scan_iter(match="cache:item:*", count=1000):
                keys.append(key)
                if len(keys) >= n:
                    break
            if not keys:
                break
            for i in range(0, len(keys), 500):
                r.delete(*keys[i:i + 500])
    populate_to(fraction - 0.005)


def seed(host: str, port: int, plan: dict[str, Any]) -> None:
    import redis

    admin = redis.Redis(host=host, port=port, username="default", password=plan["redis"]["default"]["live"],
                        socket_timeout=10)
    try:
        for user, keys in {"keycloak": ["sessions:8f3a", "sessions:77c1"], "litellm": ["cache:resp:1"],
                           "langfuse": ["ingestion:queue"], "n8n": ["bull:jobs:1", "bull:jobs:2"]}.items():
            for k in keys:
                admin.set(f"{user}:{k}", "lab")
        fill_memory(admin, plan["redis_maxmemory"], plan["redis_fill"], evict_first=plan["planted"])
        for _ in range(3):  # slowlog-worthy commands (slower than 10 ms)
            admin.execute_command("DEBUG", "SLEEP", "0.02")
        for i in range(50):
            admin.get(f"cache:item:{i}")
            admin.get(f"cache:missing:{i}")
        if plan["planted"]:
            _acl_denials(host, port, plan)
    finally:
        admin.close()


def _resp(*args: str) -> bytes:
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        b = a.encode()
        out += f"${len(b)}\r\n".encode() + b + b"\r\n"
    return out


def _acl_denials(host: str, port: int, plan: dict[str, Any]) -> None:
    """Leave ACL LOG entries as misconfigured apps would (raw RESP: redis-py retries auth errors)."""
    import socket

    def attempt(user: str, password: str, *command: str) -> None:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(_resp("AUTH", user, password))
            sock.recv(4096)
            if command:
                sock.sendall(_resp(*command))
                sock.recv(4096)

    for _ in range(3):
        attempt("litellm", plan["redis"]["litellm"]["app"])  # WRONGPASS: stale litellm-env
    attempt("appcache", plan["redis"]["appcache"]["app"])  # user never loaded
    for _ in range(2):
        attempt("langfuse", plan["redis"]["langfuse"]["live"], "SET", "lf:trace:1", "x")  # key denied
    attempt("langfuse", plan["redis"]["langfuse"]["live"], "GET", "lf:session:9")
