"""Work the panes of one refresh share (issue #8), on the lab's real servers: one workload scan behind
Triage's targets, the RustFS apps and the Dragonfly consumers; HTTP sources made once per Connections that
keep their connection open; requests' environment read once per session, with the same answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from checks.connect import Connections
from checks.errors import SourceError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_one_workload_scan_serves_triage_rustfs_and_dragonfly(lab: dict[str, Any], lab_config: Any,
                                                              count_calls: Any) -> None:
    from checks import appcreds
    from checks.flows.dragonfly_gather import find_consumers
    from checks.rustfs_apps import find_s3_apps
    from checks.targets import list_targets

    scans = count_calls(appcreds, "_scan_workloads")
    conns = Connections(lab_config)
    try:
        targets, apps, consumers = list_targets(conns), find_s3_apps(conns), find_consumers(conns)
        assert len(scans) == 1  # three panes, one scan
        assert [t.app for t in targets] == sorted(t.app for t in targets)
        litellm = next(t for t in targets if t.app == "ai-system/litellm")
        assert litellm.kind == "Deployment" and litellm.redis and litellm.postgres and litellm.s3
        assert any(a.app == "ai-system/litellm" and a.workload == "deploy/litellm" for a in apps)
        assert "ai-system/litellm" in consumers.get(litellm.redis, ())

        # what the scan resolved from listed Secrets equals each workload read and resolved on its own
        scan = appcreds.scan_workloads(conns)
        assert len(scans) == 1 and {w.kind for w, _ in scan} == {"Deployment", "StatefulSet"}
        for w, creds in scan:
            if isinstance(creds, SourceError):
                with pytest.raises(SourceError):
                    appcreds.find_app_credentials(conns.kube, w.namespace, w.short_ref)
            else:
                assert creds == appcreds.find_app_credentials(conns.kube, w.namespace, w.short_ref)

        conns.forget_cached()  # `r`: scanned again
        assert list_targets(conns) == targets and len(scans) == 2
    finally:
        conns.close()


def test_http_sources_are_made_once_and_keep_their_connection(lab: dict[str, Any], lab_config: Any) -> None:
    from bench.proxy import CountingProxy

    conns = Connections(lab_config)
    real = urlsplit(conns.prometheus_url())
    proxy = CountingProxy(real.hostname or "127.0.0.1", real.port or 80)
    try:
        via = f"http://127.0.0.1:{proxy.port}"
        prom = conns.prometheus(via, 5.0)
        assert conns.prometheus(via, 5.0) is prom
        assert conns.prometheus(via, 6.0) is not prom  # other arguments: another source
        assert conns.alertmanager(via, 5.0) is conns.alertmanager(via, 5.0)
        admin = ("http://127.0.0.1:1", "AKIAEXAMPLE", "secret", "us-east-1", 5.0)
        assert conns.rustfs_admin_client(*admin) is conns.rustfs_admin_client(*admin)
        versions = {conns.prometheus(via, 5.0).buildinfo().version for _ in range(3)}
        assert len(versions) == 1 and versions != {""}
        assert proxy.counts.round_trips == 3 and proxy.counts.connections == 1  # one kept-alive connection
    finally:
        proxy.close()
        conns.close()


def test_the_bench_proxy_holds_each_round_trip_for_its_delay(lab: dict[str, Any], lab_config: Any) -> None:
    """The bench's "remote cluster" link: every request waits `delay` on its way (a lower bound, the behaviour
    under test; nothing here asserts how fast anything is)."""
    import time

    from bench.proxy import CountingProxy

    conns = Connections(lab_config)
    real = urlsplit(conns.prometheus_url())
    proxy = CountingProxy(real.hostname or "127.0.0.1", real.port or 80, delay=0.3)
    try:
        prom = conns.prometheus(f"http://127.0.0.1:{proxy.port}", 5.0)
        started = time.monotonic()
        for _ in range(2):
            assert prom.buildinfo().version
        assert time.monotonic() - started >= 0.6 and proxy.counts.round_trips == 2
    finally:
        proxy.close()
        conns.close()


def test_http_sessions_read_the_environment_once_with_the_same_answer(tmp_path: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from checks.sources.http_session import session_for

    netrc = tmp_path / "netrc"
    netrc.write_text("machine prom.example.net login reader password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.net:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    for url in ("http://prom.example.net:9090", "http://127.0.0.1:9090"):
        session = session_for(url)
        assert session.trust_env is False  # nothing more read per request
        # what requests itself would use for a request to `url` with the environment trusted
        settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
        assert {k: v for k, v in session.proxies.items() if v} == {k: v for k, v in settings["proxies"].items() if v}
        assert session.verify == settings["verify"] == str(tmp_path / "ca.pem")
        assert session.auth == requests.utils.get_netrc_auth(url)
    assert session_for("http://prom.example.net:9090").auth == ("reader", "hunter2")
    assert session_for("http://127.0.0.1:9090").proxies.get("http") is None  # NO_PROXY
    assert session_for("http://prom.example.net:9090").proxies.get("http") == "http://proxy.example.net:3128"


class _Meeting:
    """A KubeSource stand-in that forwards to the real one, except that the calls named in `meet` wait for
    each other at a barrier: they pass only if they run at the same time (else BrokenBarrierError)."""

    def __init__(self, kube: Any, meet: tuple[str, ...]) -> None:
        import threading

        self._kube, self._meet = kube, meet
        self._barrier = threading.Barrier(len(meet), timeout=10)
        self.met: list[str] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._kube, name)
        if name not in self._meet:
            return real

        def meeting(*args: Any, **kwargs: Any) -> Any:
            self._barrier.wait()
            self.met.append(name)
            return real(*args, **kwargs)

        return meeting


@pytest.mark.parametrize("endpoint, meet", [
    ("rustfs", ("get_secret", "get_service")),
    ("dragonfly", ("get_secret", "list_dragonflies")),
])
def test_admin_endpoints_read_their_secret_and_service_at_once(lab: dict[str, Any], lab_config: Any, endpoint: str,
                                                               meet: tuple[str, ...]) -> None:
    """One API round trip instead of two before each pane can reach its service (on a remote API server, one
    round trip less for every pane)."""
    conns = Connections(lab_config)
    try:
        meeting = _Meeting(conns.kube, meet)
        conns._kube = meeting  # type: ignore[assignment]
        if endpoint == "rustfs":
            ep: Any = conns.rustfs_admin()
            assert ep.access_key and ep.endpoint_url.startswith("http://")
        else:
            ep = conns.dragonfly_admin()
            assert ep.password and ep.port
        assert sorted(meeting.met) == sorted(meet)  # both passed the barrier: they ran at the same time
    finally:
        conns._kube = meeting._kube  # type: ignore[assignment]
        conns.close()


def test_the_alerts_pane_reads_its_sources_at_once(lab: dict[str, Any], lab_config: Any) -> None:
    """The Prometheus and Alertmanager Services (each before its server's reads), the CNPG clusters (the alerts'
    links) and the PrometheusRules (where each rule is defined) are read at once, not in turn."""
    from checks.alerts import load_alerts

    conns = Connections(lab_config)
    meet = ("get_service", "get_service", "list_cnpg_clusters", "list_prometheus_rules")
    try:
        meeting = _Meeting(conns.kube, meet)
        conns._kube = meeting  # type: ignore[assignment]
        data = load_alerts(conns)
        assert sorted(meeting.met) == sorted(meet)
        assert data.prometheus_url and data.alertmanager_url and data.groups and data.lints
    finally:
        conns._kube = meeting._kube  # type: ignore[assignment]
        conns.close()


def test_the_overview_probes_each_cnpg_cluster_and_prometheus_at_once(lab: dict[str, Any], lab_config: Any) -> None:
    """Every CNPG cluster's superuser Secret (then its queries) at once; Prometheus's build, alert counts and
    rules at once."""
    from checks import overview

    class Meeting(Connections):
        meeting: Any = None

        def prometheus(self, *args: Any, **kwargs: Any) -> Any:
            if self.meeting is None:
                self.meeting = _Meeting(super().prometheus(*args, **kwargs), ("buildinfo", "rules"))
            return self.meeting

    conns = Meeting(lab_config)
    try:
        clusters = conns.kube.list_cnpg_clusters("*")
        assert len(clusters) >= 2
        kube = _Meeting(conns.kube, ("get_secret",) * len(clusters))
        conns._kube = kube  # type: ignore[assignment]
        rows, _ = overview._cnpg(conns)
        assert [r.status for r in rows] == ["pass"] * len(clusters) and len(kube.met) == len(clusters)
        conns._kube = kube._kube  # type: ignore[assignment]
        (row,), _ = overview._prometheus(conns)
        assert row.status == "pass" and "rules" in row.counts
        assert sorted(conns.meeting.met) == ["buildinfo", "rules"]
    finally:
        conns.close()


class _Counting:
    """A KubeSource stand-in that forwards to the real one and counts the calls by name; `cluster_as` edits
    what get_cnpg_cluster answers."""

    def __init__(self, kube: Any, cluster_as: Any = None) -> None:
        self._kube, self._cluster_as = kube, cluster_as
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._kube, name)
        if not callable(real):
            return real

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            got = real(*args, **kwargs)
            return self._cluster_as(got) if name == "get_cnpg_cluster" and self._cluster_as else got

        return counted


def test_postgres_admin_reads_the_cluster_only_to_explain_a_missing_secret(lab: dict[str, Any],
                                                                          lab_config: Any) -> None:
    """The superuser Secret is all a working endpoint needs. The Cluster (thousands of managed roles make it a
    large answer) is read only when that Secret is missing, for the hint about spec.enableSuperuserAccess."""
    from dataclasses import replace

    conns = Connections(lab_config)
    try:
        cluster = conns.discover().cnpg_clusters[0]
        counting = _Counting(conns.kube)
        conns._kube = counting  # type: ignore[assignment]
        ep = conns.postgres_admin(cluster.namespace, cluster.name)
        assert ep.password and ep.user and "get_secret" in counting.calls
        assert "get_cnpg_cluster" not in counting.calls
    finally:
        conns.close()
    missing = replace(lab_config, cnpg=replace(lab_config.cnpg, superuser_secret_suffix="-no-such-secret"))
    conns = Connections(missing)
    try:
        counting = _Counting(conns.kube, cluster_as=lambda c: replace(c, superuser_access=False) if c else c)
        conns._kube = counting  # type: ignore[assignment]
        with pytest.raises(SourceError) as err:
            conns.postgres_admin(cluster.namespace, cluster.name)
        assert counting.calls.count("get_cnpg_cluster") == 1
        assert "no-such-secret" in str(err.value.message)
        assert "CNPG creates it only with spec.enableSuperuserAccess: true" in str(err.value.message)
    finally:
        conns.close()


# -- a chain's gating read made alongside the chain (Connections.ahead) --------------------------------------

def _conns_offline() -> Connections:
    from checks.config import Config

    return Connections(Config())


def test_ahead_runs_on_the_last_answer_while_reading_again() -> None:
    """The second time, `run` starts before `read` has answered (read waits for run to start: without the
    overlap it would wait out its 10 s guard and the test fail); the answer is run's on what read answers."""
    import threading

    conns = _conns_offline()
    started = threading.Event()
    calls: list[str] = []

    def run(value: str) -> str:
        calls.append(f"run {value}")
        started.set()
        return value.upper()

    assert conns.ahead("k", lambda: "a", run) == "A" and calls == ["run a"]
    overlapped: list[bool] = []

    def read_after_run() -> str:
        overlapped.append(started.wait(10))
        return "a"

    started.clear()
    assert conns.ahead("k", read_after_run, run) == "A"
    assert overlapped == [True] and calls == ["run a", "run a"]


def test_ahead_runs_again_when_the_answer_changed_or_fails() -> None:
    conns = _conns_offline()
    seen: list[str] = []

    def run(value: str) -> str:
        seen.append(value)
        if value == "bad":
            raise SourceError("s3", "Denied", "bad keys")
        return value

    assert conns.ahead("k", lambda: "old", run) == "old"
    assert conns.ahead("k", lambda: "new", run) == "new" and seen == ["old", "old", "new"]  # never the old answer
    with pytest.raises(SourceError, match="bad keys"):  # the keys now read are refused: so is the refresh
        conns.ahead("k", lambda: "bad", run)
    assert seen[-2:] == ["new", "bad"]
    assert conns.ahead("k", lambda: "good", run) == "good"  # the failed run on "bad" was dropped: ran again
    assert seen[-2:] == ["bad", "good"]

    def unreadable() -> str:
        raise SourceError("kubernetes", "Unreachable", "no API server", kind="unreachable")

    with pytest.raises(SourceError, match="no API server"):  # the read's failure is the refresh's
        conns.ahead("k", unreadable, run)
    errors: list[Any] = []
    boom = SourceError("s3", "No admin Secret", "missing")
    assert conns.ahead("e", lambda: boom, lambda v: errors.append(v) or "shown") == "shown"
    assert conns.ahead("e", lambda: "found", lambda v: errors.append(v) or "shown") == "shown"
    assert errors == [boom, "found"]  # an answer that is an error is not run ahead of the read


def test_rustfs_pane_runs_ahead_of_the_admin_secret_and_never_shows_old_keys(lab: dict[str, Any],
                                                                              lab_config: Any) -> None:
    """On a refresh the pane's S3 requests start with the last admin endpoint while the Secret and Service are
    read again; when the keys read now differ, what is shown is what they give."""
    import dataclasses
    import threading

    from checks.rustfs_view import collect_rustfs

    listed = threading.Event()
    swap: dict[str, Any] = {}

    class Watching(Connections):
        def rustfs_admin(self) -> Any:
            ep = super().rustfs_admin()
            if swap.get("wait"):
                swap["overlapped"] = listed.wait(10)  # without the overlap: the 10 s guard, then a failure
            return swap.get("replace", lambda e: e)(ep)

        def s3(self, *args: Any, **kwargs: Any) -> Any:
            source = super().s3(*args, **kwargs)
            listed.set()
            return source

    conns = Watching(lab_config)
    try:
        first = collect_rustfs(conns)
        assert first.buckets.buckets and not first.buckets.error and not first.identity.error
        listed.clear()
        swap["wait"] = True
        conns.forget_cached()  # `r`
        again = collect_rustfs(conns)
        assert swap["overlapped"] is True
        assert [b.name for b in again.buckets.buckets] == [b.name for b in first.buckets.buckets]
        assert again.identity.users == first.identity.users
        swap["wait"] = False
        swap["replace"] = lambda e: dataclasses.replace(e, secret_key=e.secret_key + "-rotated")
        conns.forget_cached()
        rotated = collect_rustfs(conns)  # ran ahead with the working keys; shows what the new ones give
        assert not rotated.buckets.buckets and "SignatureDoesNotMatch" in rotated.buckets.error
        assert rotated.identity.error
        del swap["replace"]
        conns.forget_cached()
        assert [b.name for b in collect_rustfs(conns).buckets.buckets] == [b.name for b in first.buckets.buckets]
    finally:
        conns.close()


def test_identity_snapshot_runs_ahead_of_the_admin_api_probe(lab: dict[str, Any], lab_config: Any) -> None:
    """The lab's S3 server has no RustFS admin API (list-users: 404): the snapshot is read by the IAM API. The
    second time, the IAM requests start before list-users has answered again (it waits for them: without the
    overlap it would wait out its 10 s guard and the test fail), and the snapshot is the same."""
    import threading

    from checks.rustfs_iam import load_iam
    from checks.rustfs_identity import SOURCE_IAM

    asked_iam = threading.Event()
    state: dict[str, Any] = {"wait": False}

    class Probe:
        def __init__(self, real: Any) -> None:
            self.real = real

        def list_users(self) -> Any:
            if state["wait"]:
                state["overlapped"] = asked_iam.wait(10)
            return self.real.list_users()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    class Watching(Connections):
        def rustfs_admin_client(self, *args: Any, **kwargs: Any) -> Any:
            return Probe(super().rustfs_admin_client(*args, **kwargs))

        def iam(self, *args: Any, **kwargs: Any) -> Any:
            asked_iam.set()
            return super().iam(*args, **kwargs)

    conns = Watching(lab_config)
    try:
        first = load_iam(conns)
        assert first.source == SOURCE_IAM and first.users
        asked_iam.clear()
        state["wait"] = True
        conns.forget_cached()
        again = load_iam(conns)
        assert state["overlapped"] is True
        assert again == first
    finally:
        conns.close()


def test_identity_keys_are_asked_for_while_the_users_are_read(lab: dict[str, Any], lab_config: Any) -> None:
    """From the second snapshot on, the last answer's users' keys are asked for while
    GetAccountAuthorizationDetails is read (it waits for a key request to start: without the overlap it waits
    out its 10 s guard and the test fails). A user created since is in the snapshot with its key, one deleted
    since is dropped: the snapshot is always what the server answers now."""
    import threading

    import boto3

    from checks.rustfs_iam import load_iam

    asked_keys = threading.Event()
    state: dict[str, Any] = {"wait": False, "asked": []}

    class Watched:
        def __init__(self, real: Any) -> None:
            self.real = real

        def account_details(self, marker: str | None = None) -> Any:
            if state["wait"]:
                state["overlapped"] = asked_keys.wait(10)
            return self.real.account_details(marker)

        def access_keys(self, user: str) -> Any:
            state["asked"].append(user)
            asked_keys.set()
            return self.real.access_keys(user)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    class Watching(Connections):
        watched: Any = None

        def iam(self, *args: Any, **kwargs: Any) -> Any:
            if self.watched is None:
                self.watched = Watched(super().iam(*args, **kwargs))
            return self.watched

    def load() -> Any:
        asked_keys.clear()
        state.update(wait=True, asked=[], overlapped=None)
        conns.forget_cached()
        return load_iam(conns)

    conns = Watching(lab_config)
    ep = conns.rustfs_admin()
    admin = boto3.session.Session().client("iam", endpoint_url=ep.endpoint_url, aws_access_key_id=ep.access_key,
                                           aws_secret_access_key=ep.secret_key, region_name=ep.region)
    new_user = "probe-keys-ahead"
    try:
        first = load_iam(conns)
        names = sorted(u.access_key for u in first.users)
        assert sorted(state["asked"]) == names

        again = load()
        assert state["overlapped"] is True and again == first
        assert sorted(state["asked"]) == names  # the answer did not change: each key asked once

        admin.create_user(UserName=new_user)
        key = admin.create_access_key(UserName=new_user)["AccessKey"]["AccessKeyId"]
        grown = load()
        assert state["overlapped"] is True
        assert sorted(u.access_key for u in grown.users) == sorted([*names, new_user])
        owner = grown.owner_of(key)
        assert owner is not None and owner.user == new_user
        assert state["asked"].count(new_user) == 1 and all(state["asked"].count(n) == 2 for n in names)

        admin.delete_access_key(UserName=new_user, AccessKeyId=key)
        admin.delete_user(UserName=new_user)
        shrunk = load()
        assert state["overlapped"] is True and shrunk == first  # the run on the last answer asked for the gone user
        assert new_user in state["asked"]
    finally:
        for call in (lambda: [admin.delete_access_key(UserName=new_user, AccessKeyId=k["AccessKeyId"])
                              for k in admin.list_access_keys(UserName=new_user)["AccessKeyMetadata"]],
                     lambda: admin.delete_user(UserName=new_user)):
            try:
                call()
            except Exception:  # noqa: BLE001 (already gone)
                pass
        conns.close()
