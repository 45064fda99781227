"""The caches behind fast pane fetches (issue #8), counted on the lab's real servers (their request logs):
gets answered from a cached list, gets cached but never pods, the RustFS identity and bucket listing shared
by the panes of one refresh and forgotten on a write or an explicit reload, shared S3 clients; and the
indexes that replaced scans (alerts merge, CNPG roles, ACL lines) give the same answers as the scans."""

from __future__ import annotations

import random
from typing import Any

import pytest

from checks.alerts import merge_alerts
from checks.connect import Connections
from tests.serverwatch import ServerWatch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _conns(config: Any) -> Connections:
    return Connections(config)


def _kube_gets(seen: Any, fragment: str) -> list[str]:
    return [line for line in seen.kube if line.startswith("GET ") and fragment in line]


def test_a_get_is_answered_from_a_cached_list(lab: dict[str, Any], lab_config: Any) -> None:
    conns = _conns(lab_config)
    try:
        kube = conns.kube
        listed = {w.name: w for w in kube.list_deployments("ai-system")}
        name = sorted(listed)[0]
        watch = ServerWatch(lab).start()
        got = kube.get_deployment("ai-system", name)
        missing = kube.get_deployment("ai-system", "no-such-deployment-here")
        seen = watch.stop()
        assert _kube_gets(seen, "/namespaces/ai-system/deployments") == []  # no request at all
        assert missing is None
        assert got is not None and got.kind == "Deployment" and got.namespace == "ai-system"
        assert got == listed[name] and got.raw.get("apiVersion") == "apps/v1"

        conns.forget_cached()  # an explicit reload: the next get asks the API server
        watch = ServerWatch(lab).start()
        fresh = kube.get_deployment("ai-system", name)
        seen = watch.stop()
        assert _kube_gets(seen, f"/namespaces/ai-system/deployments/{name}")
        assert fresh == got and fresh.raw.get("kind") == got.raw.get("kind")
    finally:
        conns.close()


def test_gets_are_cached_but_never_of_pods_or_secrets(lab: dict[str, Any], lab_config: Any) -> None:
    conns = _conns(lab_config)
    try:
        kube = conns.kube
        pod = kube.list_pods("storage")[0]
        secret = kube.list_secrets("storage")[0]  # listed: still not answered from the list
        svc = lab_config.rustfs.service.rpartition("/")[2]
        conns.forget_cached()
        kube.list_secrets("storage")
        watch = ServerWatch(lab).start()
        first, again = kube.get_service("storage", svc), kube.get_service("storage", svc)
        kube.get_pod("storage", pod.name)
        kube.get_pod("storage", pod.name)
        kube.get_secret("storage", secret.name)  # a reveal, a rotation check: the value now
        kube.get_secret("storage", secret.name)
        seen = watch.stop()
        assert first == again
        assert len(_kube_gets(seen, f"/namespaces/storage/services/{svc}")) == 1
        assert len(_kube_gets(seen, f"/namespaces/storage/pods/{pod.name}")) == 2  # the canary polls its pod
        assert len(_kube_gets(seen, f"/namespaces/storage/secrets/{secret.name}")) == 2
    finally:
        conns.close()


def test_a_list_is_parsed_once_per_answer(lab: dict[str, Any], lab_config: Any) -> None:
    """Panes listing the same resource in one refresh share one parse of the answer (frozen objects); a reload
    parses the new answer. Secrets keep their values out of `raw` and get their own list."""
    conns = _conns(lab_config)
    try:
        kube = conns.kube
        conns.forget_cached()
        first, again = kube.list_secrets("*"), kube.list_secrets("*")
        assert first == again and first is not again and all(a is b for a, b in zip(first, again))
        assert all(v.startswith("<hidden ") for sec in first for v in (sec.raw.get("data") or {}).values())
        again.clear()  # a caller's list is its own
        assert kube.list_secrets("*") == first
        conns.forget_cached()
        fresh = kube.list_secrets("*")
        assert fresh == first and not any(a is b for a, b in zip(first, fresh))
    finally:
        conns.close()


def test_rustfs_admin_list_users_asked_once_per_refresh(lab: dict[str, Any], lab_config: Any) -> None:
    """The Overview's admin-API probe and the RustFS pane's identity snapshot share one list-users, its
    failure included (the lab's S3 server has no RustFS admin API: 404, then the IAM API)."""
    from checks.overview import collect_overview
    from checks.rustfs_view import collect_rustfs

    conns = _conns(lab_config)
    try:
        collect_overview(conns)
        conns.forget_cached()
        watch = ServerWatch(lab).start()
        overview = collect_overview(conns)
        rustfs = collect_rustfs(conns)
        seen = watch.stop()
        asked = [line for line in seen.s3 if "/rustfs/admin/v3/list-users" in line]
        assert len(asked) == 1, seen.s3
        probe = next(p for p in overview.permissions if p.operation == "admin API list-users")
        assert probe.allowed is None and probe.detail  # not found: neither allowed nor refused
        assert rustfs.identity.error == "" and rustfs.identity.users  # read through the IAM API
    finally:
        conns.close()


def test_admin_secrets_read_once_per_refresh_and_again_after_r(lab: dict[str, Any], lab_config: Any) -> None:
    """clusterdeck's own admin Secrets are read once by all the probes and panes of one refresh (the Overview
    alone read each CNPG superuser Secret three times), and read again after an explicit reload."""
    from checks.cnpg_view import load_cnpg_view
    from checks.overview import collect_overview

    conns = _conns(lab_config)
    try:
        collect_overview(conns)  # warm: clients made, discovery done
        conns.forget_cached()
        watch = ServerWatch(lab).start()
        collect_overview(conns)
        load_cnpg_view(conns)
        seen = watch.stop()
        superuser = _kube_gets(seen, "/secrets/ai-postgres-superuser")
        assert len(superuser) <= 1, superuser  # none when a list of Secrets made before it answered it
        for fragment in ("/secrets/keycloak-db-superuser", "/secrets/dragonfly-auth", "/secrets/rustfs-credentials"):
            assert len(_kube_gets(seen, fragment)) <= 1, (fragment, seen.kube)
        conns.forget_cached()  # `r`
        watch = ServerWatch(lab).start()
        collect_overview(conns)
        seen = watch.stop()
        again = _kube_gets(seen, "/secrets/ai-postgres-superuser")
        # read from the cluster again: by name, or from the list of all Secrets this refresh made first
        listed = _kube_gets(seen, " /api/v1/secrets?fieldSelector=type%21%3Dhelm.sh%2Frelease.v1 ")  # Helm's aside
        assert len(again) == 1 or (not again and listed), seen.kube
    finally:
        conns.close()


def test_an_admin_secret_is_taken_from_a_list_of_secrets_made_in_this_refresh(lab: dict[str, Any],
                                                                             lab_config: Any) -> None:
    """A pane that listed the Secrets of all namespaces (the consumer scans) answers the admin Secret reads of
    the same refresh: no get; without such a list, or after `r`, the admin Secret is read by name."""
    from checks.sources.kube import ALL_NAMESPACES

    conns = _conns(lab_config)
    try:
        kube = conns.kube
        by_name = kube.get_secret("ai-system", "ai-postgres-superuser")
        assert by_name is not None
        conns.forget_cached()
        kube.list_secrets(ALL_NAMESPACES)
        watch = ServerWatch(lab).start()
        ep = conns.postgres_admin("ai-system", "ai-postgres")
        seen = watch.stop()
        assert _kube_gets(seen, "/secrets/") == [], seen.kube
        assert ep.password == by_name.text("password") and ep.user == by_name.text("username")
        conns.forget_cached()  # `r`: nothing listed any more
        watch = ServerWatch(lab).start()
        again = conns.postgres_admin("ai-system", "ai-postgres")
        seen = watch.stop()
        assert len(_kube_gets(seen, "/secrets/ai-postgres-superuser")) == 1 and again.password == ep.password
    finally:
        conns.close()


def test_triage_reads_each_namespace_once_not_each_secret(lab: dict[str, Any], lab_config: Any) -> None:
    from checks.targets import list_targets

    conns = _conns(lab_config)
    try:
        conns.kube  # noqa: B018 - made before the watch
        watch = ServerWatch(lab).start()
        targets = list_targets(conns)
        seen = watch.stop()
        assert targets
        per_object = [line for line in seen.kube if line.startswith("GET ") and "/secrets/" in line]
        assert per_object == []
        conns.forget_cached()
        assert list_targets(conns) == targets
    finally:
        conns.close()


def _iam_requests(seen: Any) -> list[str]:
    return [line for line in seen.s3 if "Action=" in line]


def test_rustfs_identity_is_shared_then_forgotten(lab: dict[str, Any], lab_config: Any, tmp_path: Any) -> None:
    from checks.rustfs_iam import load_iam
    from checks.writes import WriteGate, WriteIntent

    conns = _conns(lab_config)
    try:
        first = load_iam(conns)
        watch = ServerWatch(lab).start()
        again = load_iam(conns)
        seen = watch.stop()
        assert again == first
        assert _iam_requests(seen) == []  # within the TTL: no IAM request

        conns.forget_cached()  # `r` in the TUI
        watch = ServerWatch(lab).start()
        assert load_iam(conns) == first
        seen = watch.stop()
        assert len(_iam_requests(seen)) > 5

        gate = WriteGate(True, confirm=lambda _: True, audit_path=tmp_path / "audit.log", context="lab")
        gate.run(WriteIntent("s3", "PutObject", "s3://nowhere/test"), lambda: None)  # any write forgets it
        watch = ServerWatch(lab).start()
        load_iam(conns)
        seen = watch.stop()
        assert _iam_requests(seen)
    finally:
        conns.close()


def test_overview_and_rustfs_pane_share_one_bucket_listing(lab: dict[str, Any], lab_config: Any) -> None:
    from checks.overview import collect_overview
    from checks.rustfs_view import collect_rustfs

    conns = _conns(lab_config)
    try:
        conns.kube  # noqa: B018
        watch = ServerWatch(lab).start()
        data = collect_rustfs(conns)
        overview = collect_overview(conns)
        seen = watch.stop()
        list_buckets = [line for line in seen.s3 if line.split(" ")[:2] == ["GET", "/"]]
        assert len(list_buckets) == 1
        row = next(s for s in overview.systems if s.system == "rustfs")
        assert row.counts == f"{len(data.buckets.buckets)} buckets"
    finally:
        conns.close()


def test_one_refresh_reads_acl_list_and_roles_once(lab: dict[str, Any], lab_config: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from checks.cnpg_view import load_cnpg_view
    from checks.dragonfly_view import collect_view
    from checks.overview import collect_overview

    conns = _conns(lab_config)
    try:
        collect_overview(conns)  # warm: the kube client, imports
        conns.forget_cached()
        watch = ServerWatch(lab).start()
        with ThreadPoolExecutor(max_workers=3) as pool:  # as the app's workers run them
            futures = [pool.submit(f, conns) for f in (collect_overview, collect_view, load_cnpg_view)]
            overview, view, cnpg = (f.result() for f in futures)
        seen = watch.stop()
        assert seen.redis_calls.get("acl|list") == 1
        clusters = [s for s in overview.systems if s.system.startswith("cnpg ") and s.status == "pass"]
        assert clusters
        roles_queries = [q for _, q in seen.postgres if q.startswith("SELECT r.rolname, r.rolsuper")]
        servers = {s.endpoint.rpartition("→")[2].strip() for s in clusters}  # the lab serves both from one
        assert len(roles_queries) == len(servers)
        row = next(s for s in overview.systems if s.system == "dragonfly")
        assert row.status in ("pass", "warn") and view.users and cnpg.clusters
    finally:
        conns.close()


def test_s3_clients_are_shared_per_arguments(lab_config: Any) -> None:
    conns = _conns(lab_config)
    args = ("http://127.0.0.1:1", "AKIAEXAMPLE", "secret\n", "us-east-1", 5.0)
    assert conns.s3(*args) is conns.s3(*args)
    assert conns.s3(*args) is not conns.s3(*args[:2], "secret", *args[3:])  # another key: another client
    assert conns.iam(*args) is conns.iam(*args)
    assert conns.redis("127.0.0.1", 1, "u", "p") is not conns.redis("127.0.0.1", 1, "u", "p")  # holds a connection


# -- the indexes give the answers of the scans they replaced ------------------------------------------------

def _scan_merge(prom: list[Any], am: list[Any]) -> tuple[Any, ...]:
    """merge_alerts as it was before the index (a scan and a list.remove per alert)."""
    from datetime import datetime, timezone

    from checks.alerts import SEVERITY_GROUPS, AlertView, _am_state, _key, link_for

    am_left = list(am)
    out = []
    for a in prom:
        match = next((m for m in am_left if m.labels == a.labels), None) or next(
            (m for m in am_left if a.labels.items() <= m.labels.items()), None)
        labels = dict(a.labels)
        extra: dict[str, Any] = {}
        if match is not None:
            am_left.remove(match)
            labels = dict(match.labels)
            extra = dict(source="prometheus+alertmanager", suppressed=_am_state(match),
                         silenced_by=match.silenced_by, inhibited_by=match.inhibited_by, receivers=match.receivers)
        out.append(AlertView(_key(a.labels), a.name, a.state, a.labels.get("severity", ""), labels,
                             dict(a.annotations), a.active_at, a.value, link=link_for(a.name, labels, ()), **extra))
    for m in am_left:
        out.append(AlertView(_key(m.labels), m.name, "firing", m.labels.get("severity", ""), dict(m.labels),
                             dict(m.annotations), m.starts_at, None, "alertmanager", _am_state(m), m.silenced_by,
                             m.inhibited_by, m.receivers, link_for(m.name, m.labels, ())))
    far = datetime.max.replace(tzinfo=timezone.utc)
    out.sort(key=lambda v: (SEVERITY_GROUPS.index(v.group), bool(v.suppressed), v.state != "firing",
                            v.active_at or far, v.name, v.key))
    return tuple(out)


def test_alert_merge_matches_the_scan_it_replaced() -> None:
    from checks.sources.prometheus import Alert, AmAlert

    rnd = random.Random(8)
    for _ in range(40):
        prom, am = [], []
        for i in range(rnd.randint(0, 40)):
            labels = {"alertname": f"A{rnd.randint(0, 4)}", "severity": rnd.choice(["critical", "warning"])}
            if rnd.random() < 0.7:
                labels["pod"] = f"p{rnd.randint(0, 6)}"
            if rnd.random() < 0.9:
                prom.append(Alert(labels["alertname"], rnd.choice(["firing", "pending"]), labels))
            if rnd.random() < 0.8:
                extra = {"cluster": "lab"} if rnd.random() < 0.6 else {}
                silenced = ("s1",) if rnd.random() < 0.2 else ()
                am.append(AmAlert({**labels, **extra}, {"summary": f"n{i}"}, "active", silenced, (), None, f"fp{i}"))
        rnd.shuffle(am)
        assert merge_alerts(prom, am) == _scan_merge(prom, am)


def test_cnpg_role_lookup_keeps_the_first_declaration() -> None:
    from checks.sources.kube_resources import CnpgCluster, ManagedRole

    c = CnpgCluster(kind="Cluster", name="pg", namespace="db",
                    managed_roles=(ManagedRole("app", login=True), ManagedRole("app", login=False),
                                   ManagedRole("other")),
                    roles_by_status={"reconciled": ("app",), "pending-reconciliation": ("app", "other")})
    assert c.role("app") is c.managed_roles[0]
    assert c.role("missing") is None
    assert c.status_bucket("app") == "reconciled" and c.status_bucket("other") == "pending-reconciliation"
    assert c.status_bucket("missing") == ""


def test_acl_lines_are_remembered_but_never_a_plaintext_password() -> None:
    from checks.parsers import acl

    listing = ["user app on #" + "a" * 64 + " ~app:* +@read", "user x on >plaintext-pw ~* +@all"]
    first = acl.parse_acl_list(listing)
    again = acl.parse_acl_list(listing)
    assert first == again
    assert listing[0] in acl._MEMO
    assert not any("plaintext-pw" in key for key in acl._MEMO)


def test_iam_snapshot_from_authorization_details_equals_the_single_calls(lab: dict[str, Any],
                                                                           lab_config: Any) -> None:
    from checks.rustfs_iam_api import _iam_snapshot_calls, _iam_snapshot_details

    conns = _conns(lab_config)
    try:
        ep = conns.rustfs_admin()
        iam = conns.iam(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, float(lab_config.timeout))
        watch = ServerWatch(lab).start()
        details = _iam_snapshot_details(iam)
        seen = watch.stop()
        calls = _iam_snapshot_calls(iam)
        assert details == calls
        assert len(_iam_requests(seen)) == 1 + len(details.users)  # the details, then each user's access keys
    finally:
        conns.close()


def test_a_failing_api_server_is_not_hidden_by_cached_answers(lab: dict[str, Any], lab_config: Any,
                                                              lab_faults: Any) -> None:
    from checks.errors import SourceError
    from checks.targets import list_targets

    conns = _conns(lab_config)
    try:
        kube = conns.kube
        assert list_targets(conns)  # the lists and gets are cached now
        lab_faults(lab, kube="403")
        with pytest.raises(SourceError) as failed:
            kube.list_pods("*")  # not cached: asks, is refused, and drops what was kept
        assert failed.value.kind == "forbidden"
        with pytest.raises(SourceError):
            list_targets(conns)  # within the TTL, but the cluster answers 403 now: so does the pane
    finally:
        conns.close()


def test_dragonfly_consumers_scan_kept_across_refreshes_until_r(lab: dict[str, Any], lab_config: Any,
                                                                count_calls: Any) -> None:
    """The workload scan behind the Dragonfly consumers column is reused for a minute on one Connections, and
    scanned again after `r` (it was kept per id(conns) in a module dict that `r` never emptied)."""
    from checks import dragonfly_view

    scans = count_calls(dragonfly_view, "find_consumers")
    conns, other = _conns(lab_config), _conns(lab_config)
    try:
        watch = ServerWatch(lab).start()
        first = dragonfly_view._consumers(conns)
        seen = watch.stop()
        assert [line for line in seen.kube if "/secrets/" in line] == []  # Secrets listed, not read one by one
        assert dragonfly_view._consumers(conns) == first and len(scans) == 1
        assert first.get("litellm") == ("ai-system/litellm",)
        dragonfly_view._consumers(other)  # another Connections scans for itself
        assert len(scans) == 2
        conns.forget_cached()
        assert dragonfly_view._consumers(conns) == first and len(scans) == 3
    finally:
        conns.close()
        other.close()
