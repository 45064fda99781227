"""Round trips per source and refresh, counted for real.

Every endpoint of the lab (Redis, PostgreSQL, S3, Prometheus, Alertmanager, the Kubernetes API) is put
behind a `CountingProxy`; a config and kubeconfig pointing at the proxies is written next to the lab's.
Server-side counters back the proxy counts up: Redis `INFO commandstats` (commands executed), the
PostgreSQL log (the lab logs every statement), and the lab API's kube-requests.log.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.common import Metric
from bench.proxy import CountingProxy
from checks.sources.kube_cache import DEFAULT_TTL

SHARED_FOR = DEFAULT_TTL + 0.5
"""Seconds between the two fetches of a pane: past the life of the answers shared by the panes of one refresh
(the Kubernetes lists, `Connections.recent`), as a steady refresh 10 s later finds them."""

PANES: dict[str, tuple[str, str]] = {
    "overview": ("checks.overview", "collect_overview"),
    "dragonfly": ("checks.dragonfly_view", "collect_view"),
    "cnpg": ("checks.cnpg_view", "load_cnpg_view"),
    "rustfs": ("checks.rustfs_view", "collect_rustfs"),
    "alerts": ("checks.alerts", "load_alerts"),
    "triage": ("checks.targets", "list_targets"),
}
"""Pane -> the headless fetch its screen runs in a worker."""


def pane_fetch(pane: str) -> Callable[[Any], Any]:
    from importlib import import_module

    module, name = PANES[pane]
    return getattr(import_module(module), name)


class ProxiedLab:
    """Proxies in front of every lab endpoint and a config that uses them; `delay`: each round trip's wait."""

    def __init__(self, state: dict[str, Any], delay: float = 0.0) -> None:
        self.state = state
        self.proxies: dict[str, CountingProxy] = {}
        targets = {"kube": ("127.0.0.1", state["kube"]["port"])}
        for service, addr in state["endpoints"].items():
            host, port = addr.rsplit(":", 1)
            targets[service] = (host, int(port))
        by_addr: dict[tuple[str, int], CountingProxy] = {}
        for name, addr in targets.items():
            if addr not in by_addr:
                by_addr[addr] = CountingProxy(*addr, delay=delay)
            self.proxies[name] = by_addr[addr]
        self.dir = Path(tempfile.mkdtemp(prefix="clusterdeck-bench-proxy-"))
        kubeconfig = Path(state["kubeconfig"]).read_text().replace(
            f"127.0.0.1:{state['kube']['port']}", f"127.0.0.1:{self.proxies['kube'].port}")
        (self.dir / "kubeconfig").write_text(kubeconfig)
        config = Path(state["config"]).read_text().replace(state["kubeconfig"], str(self.dir / "kubeconfig"))
        for service, addr in state["endpoints"].items():
            config = config.replace(f'"{service}" = "{addr}"', f'"{service}" = "127.0.0.1:{self.proxies[service].port}"')
        (self.dir / "config.toml").write_text(config)

    def system(self, name: str) -> CountingProxy:
        key = {"redis": "dragonfly.cache.svc:6379", "postgres": "ai-postgres-rw.ai-system.svc:5432",
               "s3": "rustfs-svc.storage.svc:9000", "prometheus": "prometheus-operated.monitoring.svc:9090",
               "alertmanager": "alertmanager-operated.monitoring.svc:9093", "kube": "kube"}[name]
        return self.proxies[key]

    def conns(self) -> Any:
        from checks.config import load_config
        from checks.connect import Connections

        cfg = load_config(str(self.dir / "config.toml"))
        return Connections(cfg.with_overrides(kubeconfig=str(self.dir / "kubeconfig")))

    def reset(self) -> None:
        for p in set(self.proxies.values()):
            p.counts.reset()

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return {s: (self.system(s).counts.round_trips, self.system(s).counts.connections)
                for s in ("kube", "redis", "postgres", "s3", "prometheus", "alertmanager")}

    def close(self) -> None:
        import shutil

        for p in set(self.proxies.values()):
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_log_lines(state: dict[str, Any]) -> list[str]:
    try:
        return Path(state["logs"]["postgres"]).read_text(errors="replace").splitlines()
    except OSError:
        return []


def _redis_commands(state: dict[str, Any]) -> int:
    """Total commands executed by the lab Redis (INFO commandstats), read on a direct connection."""
    import redis

    from lab.access import plan_of

    pw = plan_of(state)["redis"]["default"]["live"]
    r = redis.Redis("127.0.0.1", state["redis"]["port"], username="default", password=pw, decode_responses=True)
    try:
        stats = r.info("commandstats")
        return sum(int(v["calls"]) for v in stats.values())
    finally:
        r.close()


def measure(state: dict[str, Any]) -> tuple[list[Metric], dict[str, Any]]:
    from checks.sources.postgres import PostgresSource
    from checks.sources.redis_source import RedisSource, close_kept_clients

    lab = ProxiedLab(state)
    try:
        conns = lab.conns()
        ep = conns.dragonfly_admin()
        # Redis: snapshot() twice, each on a source of its own (as two refreshes): the first logs in (AUTH),
        # the second is sent on the client kept
        close_kept_clients()
        lab.reset()
        src = RedisSource(ep.host, ep.port, ep.username, ep.password, timeout=conns.config.timeout)
        src.snapshot()
        src.close()
        redis_first, redis_first_conn = lab.snapshot()["redis"]
        before = _redis_commands(state)  # this INFO and the next one are subtracted below
        lab.reset()
        src = RedisSource(ep.host, ep.port, ep.username, ep.password, timeout=conns.config.timeout)
        src.snapshot()
        src.close()
        redis_rt, redis_conn = lab.snapshot()["redis"]
        redis_commands = _redis_commands(state) - before - 1
        # PostgreSQL: roles() twice on one source: the first on a new connection, the second on the kept one
        pg = conns.postgres_admin("ai-system", "ai-postgres")
        mark = len(_pg_log_lines(state))
        lab.reset()
        pg_source = PostgresSource(pg.host, pg.port, pg.user, pg.password, pg.dbname, conns.config.timeout)
        pg_source.roles()
        pg_first, pg_conn = lab.snapshot()["postgres"]
        new = _pg_log_lines(state)[mark:]
        pg_statements = sum(1 for line in new if "statement:" in line)
        lab.reset()
        pg_source.roles()
        pg_rt, pg_again = lab.snapshot()["postgres"]
        pg_source.close()
        # every pane's fetch: a second call on the same Connections once the answers shared within one refresh
        # have expired = a steady refresh (the TUI refreshes a pane every 10 s)
        panes: dict[str, Any] = {}
        kube_log = Path(state["dir"]) / "kube-requests.log"
        for pane in PANES:
            fetch = pane_fetch(pane)
            fetch(conns)
            time.sleep(SHARED_FOR)
            lab.reset()
            kube_mark = len(kube_log.read_text().splitlines()) if kube_log.exists() else 0
            pg_mark = len(_pg_log_lines(state))
            fetch(conns)
            counts = lab.snapshot()
            kube_requests = (len(kube_log.read_text().splitlines()) if kube_log.exists() else 0) - kube_mark
            statements = sum(1 for line in _pg_log_lines(state)[pg_mark:] if "statement:" in line)
            panes[pane] = {"round_trips": {k: v[0] for k, v in counts.items() if v[0]},
                           "connections": {k: v[1] for k, v in counts.items() if v[1]},
                           "kube_requests_log": kube_requests, "sql_statements": statements}
        conns.close()
    finally:
        lab.close()
    metrics = [
        Metric("Redis round trips per snapshot", "1 pipeline (ACL LIST/LOG, INFO, SLOWLOG, CONFIG GET)",
               f"{redis_rt} round trip(s) on the kept connection ({redis_conn} new; {redis_commands} commands "
               f"executed), {redis_first} on the first ({redis_first_conn} new: AUTH)",
               redis_rt == 1 and redis_conn == 0,
               "counting TCP proxy (client bursts) + Redis INFO commandstats delta, RedisSource.snapshot() on "
               "two sources in turn (two refreshes)",
               {"round_trips": redis_rt, "new_connections": redis_conn, "commands": redis_commands,
                "first_round_trips": redis_first, "first_connections": redis_first_conn}),
        Metric("SQL queries for the role catalog", "1 query", f"{pg_statements} statement(s); {pg_rt} round trip(s) "
               f"on the kept connection ({pg_again} new), {pg_first} on the first ({pg_conn} new: connect/SCRAM)",
               pg_statements == 1 and pg_rt == 1 and pg_again == 0,
               "PostgreSQL log (log_statement=all) + counting proxy, PostgresSource.roles() twice on one source",
               {"statements": pg_statements, "round_trips": pg_rt, "new_connections": pg_again,
                "first_round_trips": pg_first, "first_connections": pg_conn}),
    ]
    for pane, got in panes.items():
        rts = ", ".join(f"{k} {v}" for k, v in got["round_trips"].items()) or "none"
        metrics.append(Metric(f"round trips per refresh: {pane} pane", "info (HTTP/kube: one request each)",
                              f"{rts}; {got['sql_statements']} SQL", None,
                              f"counting proxies, steady refresh: a 2nd fetch on the same Connections "
                              f"{SHARED_FOR:g} s after the 1st (the answers shared within a refresh expired)", got))
    return metrics, panes
