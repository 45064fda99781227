"""KubeSource against a real HTTP Kubernetes API (kmock) and raw HTTP servers for the failure modes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from checks.errors import SourceError
from checks.sources import KubeReader
from checks.sources.kube import KubeSource, resolve_kubeconfig
from tests.kube_fixture import (CRD_RESOURCES, SECRET_CHANGED, KubeLab, RawServer, SilentServer, closed_port_url,
                                cluster_objects, pod, secret, write_kubeconfig)


@pytest.fixture(scope="module")
def kube_lab():
    with KubeLab(cluster_objects(), CRD_RESOURCES) as lab:
        yield lab


@pytest.fixture(scope="module")
def kubeconfig(kube_lab, tmp_path_factory):
    return write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", kube_lab.url, namespace="ai-system",
                            extra_contexts=("staging",))


@pytest.fixture(scope="module")
def kube(kubeconfig):
    source = KubeSource(str(kubeconfig), None, None, timeout=5)
    yield source
    source.close()


def source_for(url: str, tmp_path, timeout: float = 2.0) -> KubeSource:
    return KubeSource(str(write_kubeconfig(tmp_path / "cfg", url)), None, "cache", timeout=timeout)


# -- kubeconfig and context ---------------------------------------------------------------------------


def test_context_and_namespace_from_kubeconfig(kube, kubeconfig, kube_lab):
    assert isinstance(kube, KubeReader)
    assert kube.context_name == "lab"
    assert kube.default_namespace == "ai-system"
    assert kube.server == kube_lab.url
    other = KubeSource(str(kubeconfig), "staging", "cache", timeout=3)
    assert (other.context_name, other.default_namespace) == ("staging", "cache")


def test_server_version(kube):
    assert kube.server_version() == "v1.26.4+k3s1"  # what kmock reports


def test_unknown_context_lists_the_available_ones(kubeconfig):
    with pytest.raises(SourceError) as err:
        KubeSource(str(kubeconfig), "prod", None, timeout=1)
    assert 'context "prod"' in err.value.message and "lab, staging" in err.value.message


def test_kubeconfig_resolution_like_kubectl(tmp_path, monkeypatch, kube_lab):
    real = write_kubeconfig(tmp_path / "real", kube_lab.url, context="from-env")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{real}")
    assert resolve_kubeconfig(None) == f"{tmp_path / 'missing'}:{real}"
    assert KubeSource(None, None, None, 2).context_name == "from-env"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", kube_lab.url, context="home")
    assert KubeSource(None, None, None, 2).context_name == "home"
    (tmp_path / ".kube" / "config").unlink()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1")
    assert resolve_kubeconfig(None) is None  # in-cluster
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(SourceError, match="no kubeconfig found"):
        resolve_kubeconfig(None)
    with pytest.raises(SourceError, match="does not exist"):
        resolve_kubeconfig(str(tmp_path / "nope"))


def test_importing_the_source_does_not_import_the_client():
    code = "import checks.sources.kube, checks.connect, checks.appcreds, sys; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- secrets and configmaps ---------------------------------------------------------------------------


def test_secrets_are_decoded_and_never_shown(kube):
    secrets = {s.name: s for s in kube.list_secrets("cache")}
    auth = secrets["dragonfly-auth"]
    assert auth.value("password") == b"df-admin-pass"
    assert auth.text("AWS_SECRET_ACCESS_KEY") == "df-s3-secret\n"  # byte-exact, newline kept
    assert auth.keys == ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "password")
    assert auth.type == "Opaque" and auth.resource_version == "12" and auth.uid == "uid-cache-dragonfly-auth"
    assert auth.last_changed == datetime.fromisoformat(SECRET_CHANGED.replace("Z", "+00:00"))
    shown = repr(auth) + str(auth) + repr(auth.raw) + repr(auth.annotations)
    for value in ("df-admin-pass", "ZGYtYWRtaW4tcGFzcw==", "df-s3-secret"):
        assert value not in shown
    assert auth.fingerprint("password").startswith("sha256:")
    assert auth.fingerprint("password") != auth.fingerprint("AWS_SECRET_ACCESS_KEY")
    assert auth.raw["data"]["password"].startswith("<hidden sha256:")


def test_get_secret_and_missing_secret(kube):
    sec = kube.get_secret("ai-system", "litellm-db")
    assert sec is not None and sec.type == "kubernetes.io/basic-auth" and sec.labels == {"cnpg.io/reload": "true"}
    assert sec.text("username") == "litellm"
    assert kube.get_secret("ai-system", "no-such-secret") is None
    assert kube.get_secret(None, "litellm-env") is not None  # default namespace ai-system


def test_configmaps(kube):
    (cm,) = kube.list_configmaps("cache")
    assert cm.name == "dragonfly-acl" and "acl-file-pass" in cm.data["acl.conf"]
    assert "acl-file-pass" not in repr(cm)
    assert kube.get_configmap("cache", "dragonfly-acl").data == cm.data
    assert kube.get_configmap("cache", "nope") is None
    assert kube.list_configmaps("empty-namespace") == []


def test_list_across_all_namespaces(kube):
    names = {(s.namespace, s.name) for s in kube.list_secrets("*")}
    assert {("cache", "dragonfly-auth"), ("storage", "rustfs-credentials"), ("ai-system", "litellm-db")} <= names


def _helm_record(release: str, namespace: str, revision: int) -> dict:
    """A Helm 3 release record as Helm writes it: the release, gzipped and base64-encoded, in `release`."""
    import base64
    import gzip
    import json

    body = json.dumps({"name": release, "version": revision, "manifest": "x" * 20000}).encode()
    return secret(f"sh.helm.release.v1.{release}.v{revision}", namespace,
                  {"release": base64.b64encode(gzip.compress(body))}, type_="helm.sh/release.v1",
                  labels={"owner": "helm", "name": release, "version": str(revision)})


def _helm_cluster() -> dict:
    objs = {("v1/secrets", "apps", "app-db"): secret("app-db", "apps", {"password": "app-pass"}),
            ("v1/secrets", "tools", "tool-key"): secret("tool-key", "tools", {"token": "t"})}
    for ns, release in (("apps", "app"), ("tools", "tool")):
        for revision in (1, 2, 3):
            record = _helm_record(release, ns, revision)
            objs["v1/secrets", ns, record["metadata"]["name"]] = record
    return objs


def test_helm_release_records_stay_on_the_server(tmp_path):
    """Every Secret list asks the API server to leave Helm's release records out (the lab's API applies field
    selectors as a real one does): the lists carry the selector and hold no record; a record is still read by
    name, and the lists still answer the lookups of clusterdeck's own Secrets."""
    from lab.kube import LabKube

    with KubeLab(_helm_cluster(), emulator=lambda: LabKube(lab_dir=tmp_path)) as lab:
        kube = source_for(lab.url, tmp_path)
        try:
            assert {(s.namespace, s.name) for s in kube.list_secrets("*")} == {("apps", "app-db"), ("tools", "tool-key")}
            assert [s.name for s in kube.list_secrets("apps")] == ["app-db"]
            log = (tmp_path / "kube-requests.log").read_text()  # "<time> GET <path?query> <status>" per request
            lists = [line for line in log.splitlines() if line.split()[2].split("?")[0].endswith("/secrets")]
            assert len(lists) == 2 and all("fieldSelector=type%21%3Dhelm.sh%2Frelease.v1" in line for line in lists)
            record = kube.get_secret("apps", "sh.helm.release.v1.app.v2")
            assert record is not None and record.type == "helm.sh/release.v1"
            assert kube.listed_secret("apps", "app-db")[0] is True  # answered by the list: no get
            assert kube.listed_secret("apps", "sh.helm.release.v1.app.v2") == (False, None)  # never from a list
        finally:
            kube.close()


def test_helm_release_records_dropped_when_the_server_ignores_the_selector(tmp_path):
    with KubeLab(_helm_cluster()) as lab:  # kmock's own emulator answers every Secret whatever the selector
        kube = source_for(lab.url, tmp_path)
        try:
            assert {s.name for s in kube.list_secrets("*")} == {"app-db", "tool-key"}
            assert kube.listed_secret("tools", "tool-key")[0] is True
        finally:
            kube.close()


# -- pods and workloads -------------------------------------------------------------------------------


def _many_pods(n: int) -> dict:
    return {("v1/pods", f"ns-{i % 3}", f"app-{i}"): pod(f"app-{i}", f"ns-{i % 3}", {"app": "a"}, SECRET_CHANGED,
                                                         ip=f"10.42.{i // 250}.{i % 250 + 1}") for i in range(n)}


def test_pods_are_counted_and_found_by_ip_without_listing_them_all(tmp_path):
    """The Overview counts pods from a list of one (remainingItemCount); a client address is mapped to its pod by
    a list with the field selector status.podIP. The lab's API applies `limit` and field selectors as a real
    one does; the request log shows what was asked."""
    from checks.flows.dragonfly_gather import LOOKUP_IPS, pod_ip_map
    from lab.kube import LabKube

    with KubeLab(_many_pods(60), emulator=lambda: LabKube(lab_dir=tmp_path)) as lab:
        kube = source_for(lab.url, tmp_path)
        try:
            log = tmp_path / "kube-requests.log"
            assert kube.read_pod_count("*") == (60, True)
            assert kube.read_pod_count("ns-1") == (20, True)
            asked = [line.split()[2] for line in log.read_text().splitlines()]
            assert asked == ["/api/v1/pods?limit=1", "/api/v1/namespaces/ns-1/pods?limit=1"]
            (one,) = kube.list_pods("*", ip="10.42.0.8")
            assert (one.namespace, one.name) == ("ns-1", "app-7")
            assert pod_ip_map(kube, ["10.42.0.8:4100", "[10.42.0.9]:4200", "127.0.0.1:5000", ""]) == {
                "10.42.0.8": "ns-1/app-7", "10.42.0.9": "ns-2/app-8"}
            by_ip = [line.split()[2] for line in log.read_text().splitlines()][2:]
            assert sorted(by_ip) == [f"/api/v1/pods?fieldSelector=status.podIP%3D{ip}" for ip in
                                     ("10.42.0.8", "10.42.0.9", "127.0.0.1")]  # 10.42.0.8 once: cached
            many = [f"10.42.0.{i}:1" for i in range(1, LOOKUP_IPS + 2)]  # more addresses: one list of every pod
            assert len(pod_ip_map(kube, many)) == 60
            assert [line.split()[2] for line in log.read_text().splitlines()][-1] == "/api/v1/pods"
        finally:
            kube.close()


def test_the_lab_api_unloads_what_the_bench_added(tmp_path):
    """`POST /_lab/unload` (bench/pods.py removes the pods it added): the named objects go, unknown ones are
    skipped."""
    import json
    import urllib.request

    from lab.kube import UNLOAD_PATH, LabKube

    with KubeLab(_many_pods(6), emulator=lambda: LabKube(lab_dir=tmp_path)) as lab:
        keys = [["v1/pods", "ns-0", "app-0"], ["v1/pods", "ns-1", "app-1"], ["v1/pods", "ns-1", "no-such-pod"]]
        req = urllib.request.Request(lab.url + UNLOAD_PATH, data=json.dumps(keys).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()) == {"unloaded": 2}
        kube = source_for(lab.url, tmp_path)
        try:
            assert sorted(p.name for p in kube.list_pods("*")) == ["app-2", "app-3", "app-4", "app-5"]
        finally:
            kube.close()


def test_pod_count_and_ip_lookup_when_the_server_ignores_limit_and_selectors(tmp_path):
    with KubeLab(_many_pods(12)) as lab:  # kmock's own emulator sends every pod
        kube = source_for(lab.url, tmp_path)
        try:
            assert kube.read_pod_count("*") == (12, True)
            assert [p.name for p in kube.list_pods("*", ip="10.42.0.3")] == ["app-2"]
        finally:
            kube.close()



def test_pods_with_selector_status_and_env(kube):
    pods = kube.list_pods("ai-system", label_selector="app.kubernetes.io/name=litellm")
    assert sorted(p.name for p in pods) == ["litellm-7d9f-new", "litellm-7d9f-old"]
    assert kube.list_pods("ai-system", label_selector="app.kubernetes.io/name notin (litellm)") == []
    old = kube.get_pod("ai-system", "litellm-7d9f-old")
    assert old.phase == "Running" and old.ready and old.pod_ip == "10.0.0.10" and old.node_name == "node-1"
    assert old.start_time == datetime(2026, 1, 14, 8, 0, tzinfo=timezone.utc) == old.started_at
    assert old.owners[0].kind == "ReplicaSet" and old.owners[0].controller
    (c,) = old.spec.containers
    env = {e.name: e for e in c.env}
    assert env["REDIS_PASSWORD"].value_from.kind == "secret"
    assert env["REDIS_PASSWORD"].value_from.key == "LITELLM_REDIS_PASSWORD"
    assert env["POD_NAMESPACE"].value_from.kind == "field"
    assert env["REDIS_PORT"].value == "6379"
    assert c.env_from[0].kind == "secret" and c.env_from[0].name == "litellm-env"
    assert kube.get_pod("ai-system", "gone") is None


def test_deployments_and_statefulsets(kube):
    (dep,) = kube.list_deployments("ai-system")
    assert dep.kind == "Deployment" and dep.short_ref == "deploy/litellm" and dep.ready_replicas == 1
    assert dep.annotations["secret.reloader.stakater.com/reload"] == "litellm-db,litellm-env"
    assert dep.selector.match_labels == {"app.kubernetes.io/name": "litellm"}
    (vol,) = dep.template.volumes
    assert (vol.kind, vol.name, vol.projected, vol.keys) == ("secret", "litellm-tls", True, ("ca.crt",))
    sts = kube.get_statefulset("cache", "dragonfly")
    assert sts.kind == "StatefulSet" and sts.short_ref == "sts/dragonfly"
    assert "--dir=s3://dragonfly-backups" in sts.template.containers[0].args
    assert "dragonfly-backups" not in repr(sts)  # args may carry credentials: hidden from repr
    assert kube.get_deployment("ai-system", "nope") is None
    assert [w.name for w in kube.list_statefulsets("*")] == ["dragonfly"]


def test_services_events_and_policies(kube):
    svc = kube.get_service("storage", "rustfs-svc")
    assert svc.host == "rustfs-svc.storage.svc" and svc.port_for(9000).name == "s3"
    assert [p.port for p in svc.ports] == [9001, 9000]
    assert sorted(s.name for s in kube.list_services("monitoring")) == ["alertmanager-operated", "prometheus-operated"]
    assert kube.list_services("monitoring", label_selector="app=none") == []
    df = kube.get_service("cache", "dragonfly")
    assert df.port_for("admin").target_port == "admin" and df.selector == {"app": "dragonfly"}
    events = kube.list_events("ai-system", involved_name="litellm")
    assert [(e.reason, e.count, e.source) for e in events] == [("Reloaded", 2, "reloader")]
    assert [e.reason for e in kube.list_events("ai-system")] == ["BackOff", "Reloaded"]  # oldest first
    (np,) = kube.list_network_policies("cache")
    assert np.policy_types == ("Ingress",) and np.pod_selector.match_labels == {"app": "dragonfly"}
    (cnp,) = kube.list_cilium_network_policies("cache")
    assert cnp.kind == "CiliumNetworkPolicy" and len(cnp.ingress) == 2 and cnp.ingress[1]["_deny"] is True
    assert cnp.policy_types == ("Ingress",)


def test_custom_resources(kube):
    (df,) = kube.list_dragonflies("*")
    assert (df.name, df.namespace, df.phase, df.ready) == ("dragonfly", "cache", "Ready", True)
    assert df.password_secret == ("dragonfly-auth", "password") and df.acl_secret[0] == "dragonfly-acl"
    assert kube.get_dragonfly("cache", "nope") is None
    cluster = kube.get_cnpg_cluster("ai-system", "ai-postgres")
    assert cluster.phase == "Cluster in healthy state" and cluster.current_primary == "ai-postgres-1"
    assert cluster.instances == 2 and cluster.ready_instances == 2 and cluster.superuser_access
    assert cluster.rw_service == "ai-postgres-rw"
    litellm = cluster.role("litellm")
    assert litellm.login and litellm.password_secret == "litellm-db" and litellm.connection_limit == 20
    assert cluster.role("langfuse").valid_until == "2026-06-01T00:00:00Z"
    assert cluster.roles_by_status["pending-reconciliation"] == ("langfuse",)
    assert "does not match role" in cluster.cannot_reconcile["langfuse"][0]
    assert cluster.password_status["litellm"] == (854, "25496087")
    assert cluster.role_secret_versions == {"litellm-db": "25496087"}
    assert [c.name for c in kube.list_cnpg_clusters("ai-system")] == ["ai-postgres"]
    (rules,) = kube.list_prometheus_rules("*")
    alert, record = rules.groups[0].rules
    assert alert.alert == "DragonflyDown" and alert.for_ == "5m" and alert.labels["severity"] == "critical"
    assert record.record == "dragonfly:memory:ratio"


# -- failures ----------------------------------------------------------------------------------------


def test_unreachable_api_server(tmp_path):
    url = closed_port_url()
    with pytest.raises(SourceError) as err:  # "unreachable", not "timeout": a refusal is not waited out
        source_for(url, tmp_path).list_secrets()
    assert err.value.system == "kubernetes" and err.value.kind == "unreachable"
    assert url in err.value.message and "refused" in err.value.message


def test_hung_api_server_times_out_within_the_bound(tmp_path):
    with SilentServer() as srv:
        source = source_for(srv.url, tmp_path, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(SourceError) as err:
            source.list_pods()
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert err.value.kind == "timeout"
    assert f"Kubernetes API at {srv.url} did not answer within 1s" in err.value.message


def test_forbidden_names_the_missing_verb_and_resource(tmp_path):
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": 'secrets is forbidden: User "system:serviceaccount:ops:clusterdeck" cannot list resource '
                       '"secrets" in API group "" in the namespace "cache"'}
    with RawServer(403, body) as srv:
        source = source_for(srv.url, tmp_path)
        with pytest.raises(SourceError) as err:
            source.list_secrets("cache")
        assert err.value.kind == "forbidden"
        assert err.value.message.startswith(
            'forbidden: cannot list secrets in namespace "cache" (needs RBAC verb "list" on "secrets")')
        assert "system:serviceaccount:ops:clusterdeck" in err.value.message
        with pytest.raises(SourceError) as err:
            source.get_dragonfly("cache", "dragonfly")
        assert 'needs RBAC verb "get" on "dragonflies.dragonflydb.io"' in err.value.message
        with pytest.raises(SourceError) as err:
            source.list_deployments("*")
        assert "cannot list deployments.apps cluster-wide" in err.value.message


def test_unauthorized_and_server_error(tmp_path):
    with RawServer(401, {"kind": "Status", "code": 401, "message": "Unauthorized"}) as srv:
        with pytest.raises(SourceError) as err:
            source_for(srv.url, tmp_path).list_pods()
    assert err.value.kind == "auth" and 'context "lab"' in err.value.message
    body = {"kind": "Status", "code": 500, "message": "Internal error occurred: etcdserver: request timed out"}
    with RawServer(500, body) as srv:
        with pytest.raises(SourceError) as err:
            source_for(srv.url, tmp_path).get_secret("cache", "x")
    assert err.value.kind == "error" and "HTTP 500" in err.value.message
    assert "etcdserver: request timed out" in err.value.message and 'get secrets "x"' in err.value.message


def test_missing_crd(tmp_path):
    with KubeLab({}, ("v1/secrets",)) as lab:  # no CRDs installed
        source = source_for(lab.url, tmp_path)
        with pytest.raises(SourceError) as err:
            source.list_dragonflies()
        assert err.value.kind == "notfound"
        assert err.value.message == ("the cluster has no dragonflies.dragonflydb.io resource "
                                     "(is the operator installed?)")
        with pytest.raises(SourceError, match="postgresql.cnpg.io"):
            source.list_cnpg_clusters("*")
    real_404 = {"kind": "Status", "code": 404, "reason": "NotFound",
                "message": "the server could not find the requested resource"}
    with RawServer(404, real_404) as srv:
        with pytest.raises(SourceError, match="no dragonflies.dragonflydb.io resource"):
            source_for(srv.url, tmp_path).get_dragonfly("cache", "dragonfly")


def test_not_kubernetes_at_all(tmp_path):
    with RawServer(200, ["not", "an", "object"]) as srv:  # valid JSON, wrong shape: treated as empty
        assert source_for(srv.url, tmp_path).list_pods() == []
    with RawServer(200, b"<html>login page</html>") as srv:
        with pytest.raises(SourceError, match="not Kubernetes JSON"):
            source_for(srv.url, tmp_path).list_pods()


def test_source_classes_have_the_protocol_shapes():
    from checks.sources import PostgresReader, PrometheusReader, RedisReader, S3Reader
    from checks.sources.postgres import PostgresSource
    from checks.sources.prometheus import PrometheusSource
    from checks.sources.redis_source import RedisSource
    from checks.sources.s3 import S3Source

    for proto, cls in ((RedisReader, RedisSource), (PostgresReader, PostgresSource), (S3Reader, S3Source),
                       (PrometheusReader, PrometheusSource), (KubeReader, KubeSource)):
        members = [m for m in vars(proto) if not m.startswith("_")]
        assert [m for m in members if not hasattr(cls, m) and m not in ("context_name", "default_namespace",
                                                                          "server")] == [], cls


LAZY_CLIENT = r"""
import json, sys
from checks.errors import SourceError
from checks.sources import kube_lazy
from checks.sources.kube import KubeSource
kube = KubeSource(sys.argv[1], None, None, timeout=5)
out = {"lazy": kube_lazy.install(), "pods": len(kube.list_pods("*")), "secrets": len(kube.list_secrets("*")),
       "missing": kube.get_secret("ai-system", "no-such-secret-here") is None, "version": kube.server_version()}
try:
    KubeSource(sys.argv[2], None, "cache", timeout=5).list_secrets("cache")  # HTTP 403: an ApiException, mapped
except SourceError as exc:
    out["error"] = exc.kind
import kubernetes
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.models import V1Pod
out["models"] = [kubernetes.client.models.V1ObjectMeta.__name__, V1Pod.__name__,
                 kubernetes.client.V1Secret.__module__, ApiClient.__name__, CoreV1Api.__name__]
out["modules"] = sum(1 for m in sys.modules if m.startswith("kubernetes"))
print(json.dumps(out))
"""


def test_kubernetes_client_loads_only_what_is_used(kubeconfig, tmp_path) -> None:
    """In a fresh process KubeSource loads the client without its ~720 models (checks.sources.kube_lazy), and
    everything still works: lists, gets, errors, models by name when something asks for one."""
    import json
    from pathlib import Path

    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": 'secrets is forbidden: User "x" cannot list resource "secrets"'}
    with RawServer(403, body) as srv:
        refusing = write_kubeconfig(tmp_path / "cfg", srv.url)
        proc = subprocess.run([sys.executable, "-c", LAZY_CLIENT, str(kubeconfig), str(refusing)],
                              capture_output=True, text=True, timeout=60, cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["lazy"] is True
    assert out["pods"] > 0 and out["secrets"] > 0 and out["missing"] and out["version"]
    assert out.get("error") == "forbidden"
    assert out["models"] == ["V1ObjectMeta", "V1Pod", "kubernetes.client.models.v1_secret", "ApiClient", "CoreV1Api"]
    assert out["modules"] < 100  # the whole client is 815
