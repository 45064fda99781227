"""Connections against kmock over HTTP: endpoint resolution, discovery and admin credentials.

The automatic port-forward itself cannot run here (kmock has no pods/portforward websocket); its
failure paths up to the websocket are exercised and must end in a SourceError with a hint.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.config import Config, PrometheusConfig, RustfsConfig, SecretRef
from checks.connect import Connections, normalise_host, split_endpoint
from checks.errors import SourceError
from tests.kube_fixture import CRD_RESOURCES, KubeLab, cluster_objects, pod, write_kubeconfig

ENDPOINTS = {"dragonfly.cache.svc:6379": "127.0.0.1:16379",
             "ai-postgres-rw.ai-system.svc.cluster.local:5432": "127.0.0.1:15432",
             "rustfs-svc.storage.svc:9000": "localhost:19000",
             "prometheus-operated.monitoring.svc:9090": "127.0.0.1:19090",
             "alertmanager-operated.monitoring.svc:9093": "[::1]:19093"}


@pytest.fixture(scope="module")
def kube_lab():
    objs = cluster_objects()
    # a ready pod behind rustfs-svc, so the port-forward gets as far as the websocket
    objs["v1/pods", "storage", "rustfs-0"] = pod("rustfs-0", "storage", {"app": "rustfs"}, "2026-01-14T08:00:00Z",
                                                 containers=[{"name": "rustfs", "image": "rustfs",
                                                              "ports": [{"name": "s3", "containerPort": 9000}]}])
    with KubeLab(objs, CRD_RESOURCES) as lab:
        yield lab


@pytest.fixture(scope="module")
def config(kube_lab, tmp_path_factory):
    path = write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", kube_lab.url)
    return Config(timeout=3, kubeconfig=str(path), endpoints=dict(ENDPOINTS))


@pytest.fixture
def conns(config):
    c = Connections(config)
    yield c
    c.close()


def test_kube_is_built_lazily_with_the_config(conns, config):
    assert conns._kube is None
    assert conns.kube.context_name == "lab" and conns.kube.timeout == 3
    assert conns.kube is conns.kube
    assert Connections(config, context="lab").context == "lab"


def test_resolve_uses_the_endpoint_mapping(conns):
    assert conns.resolve("dragonfly.cache.svc.cluster.local", 6379) == ("127.0.0.1", 16379)
    assert conns.resolve("dragonfly.cache.svc", 6379) == ("127.0.0.1", 16379)
    assert conns.resolve("Dragonfly.Cache.svc.cluster.local.", 6379) == ("127.0.0.1", 16379)
    assert conns.resolve("dragonfly.cache", 6379) == ("127.0.0.1", 16379)  # short in-cluster form
    assert conns.resolve("ai-postgres-rw.ai-system.svc", 5432) == ("127.0.0.1", 15432)  # key had cluster.local
    assert conns.resolve("alertmanager-operated.monitoring.svc", 9093) == ("::1", 19093)


def test_resolve_passes_through_ips_loopback_and_external_names(conns):
    assert conns.resolve("10.43.0.10", 6379) == ("10.43.0.10", 6379)
    assert conns.resolve("::1", 5432) == ("::1", 5432)
    assert conns.resolve("localhost", 9000) == ("localhost", 9000)
    assert conns.resolve("s3.amazonaws.com", 443) == ("s3.amazonaws.com", 443)


def test_port_forward_failures_are_source_errors_with_a_hint(conns):
    with pytest.raises(SourceError) as err:  # no such Service
        conns.resolve("ghost.cache.svc", 6379)
    assert err.value.kind == "notfound" and "kubectl port-forward -n cache svc/ghost" in err.value.message
    assert '[endpoints] "ghost.cache.svc:6379"' in err.value.message
    with pytest.raises(SourceError, match="has no port 1234"):
        conns.resolve("dragonfly.cache.svc", 1234)
    with pytest.raises(SourceError) as err:  # Service without a selector: no pod to forward to
        conns.resolve("prometheus-operated.monitoring.svc", 9091)
    assert "has no port 9091" in err.value.message
    with pytest.raises(SourceError) as err:  # ready pod found; kmock cannot open the portforward websocket
        conns.resolve("rustfs-svc.storage.svc", 9001)
    assert err.value.system == "kubernetes" and "could not open a port-forward to pod storage/rustfs-0" in \
        err.value.message
    assert 'RBAC verb "create" on "pods/portforward"' in err.value.message


def test_no_ready_pod_behind_service(conns):
    with pytest.raises(SourceError) as err:
        conns.resolve("ai-postgres-rw.ai-system.svc", 5433)
    assert "has no port 5433" in err.value.message
    with pytest.raises(SourceError) as err:
        conns._forward("ai-system", "ai-postgres-rw", 5432)
    assert "no ready pod behind Service ai-system/ai-postgres-rw" in err.value.message


def test_discover(conns):
    d = conns.discover()
    assert d.context == "lab"
    (df,) = d.dragonflies
    assert (df.name, df.namespace, df.phase, df.ready, df.service) == ("dragonfly", "cache", "Ready", True,
                                                                      "dragonfly.cache.svc:6379")
    (pg,) = d.cnpg_clusters
    assert (pg.ref, pg.phase, pg.primary, pg.instances, pg.ready_instances, pg.rw_service) == (
        "ai-system/ai-postgres", "Cluster in healthy state", "ai-postgres-1", 2, 2,
        "ai-postgres-rw.ai-system.svc:5432")
    assert d.rustfs.address == "rustfs-svc.storage.svc:9000"
    assert d.prometheus_url == "http://prometheus-operated.monitoring.svc:9090"
    assert d.alertmanager_url == "http://alertmanager-operated.monitoring.svc:9093"
    assert d.problems == ()


def test_discover_reports_missing_pieces_as_problems(tmp_path):
    with KubeLab({}, ("v1/secrets",)) as lab:
        cfg = Config(timeout=3, kubeconfig=str(write_kubeconfig(tmp_path / "c", lab.url)),
                     prometheus=PrometheusConfig(url="http://prom.example:9090"))
        d = Connections(cfg).discover()
    assert d.dragonflies == () and d.cnpg_clusters == () and d.rustfs is None
    assert d.prometheus_url == "http://prom.example:9090" and d.alertmanager_url == ""
    text = "\n".join(d.problems)
    assert "no dragonflies.dragonflydb.io resource" in text and "no clusters.postgresql.cnpg.io resource" in text
    assert "RustFS Service storage/rustfs-svc not found (config key rustfs.service)" in text
    assert "Alertmanager Service monitoring/alertmanager-operated not found" in text


def test_admin_credentials(conns):
    df = conns.dragonfly_admin()
    assert (df.host, df.port, df.username, df.password) == ("127.0.0.1", 16379, "default", "df-admin-pass")
    assert df.service == "dragonfly.cache.svc:6379" and df.secret_ref == SecretRef("cache", "dragonfly-auth",
                                                                                    "password")
    pg = conns.postgres_admin("ai-system", "ai-postgres")
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("127.0.0.1", 15432, "postgres", "pg-super",
                                                                   "postgres")
    assert pg.secret_ref == SecretRef("ai-system", "ai-postgres-superuser", "password")
    s3 = conns.rustfs_admin()
    assert (s3.endpoint_url, s3.access_key, s3.secret_key, s3.region) == ("http://localhost:19000", "rustfsadmin",
                                                                          "rustfs-secret", "us-east-1")
    assert conns.prometheus_url() == "http://127.0.0.1:19090"
    assert conns.alertmanager_url() == "http://[::1]:19093"
    for value in ("df-admin-pass", "pg-super", "rustfs-secret"):
        assert value not in repr((df, pg, s3))
    assert df.fingerprint() != pg.fingerprint()


def test_missing_admin_secret_names_secret_key_and_config_key(config, kube_lab):
    conns = Connections(Config(timeout=3, kubeconfig=config.kubeconfig, endpoints=dict(ENDPOINTS),
                               rustfs=RustfsConfig(admin_secret="storage/nope")))
    with pytest.raises(SourceError) as err:
        conns.rustfs_admin()
    assert err.value.kind == "notfound" and err.value.system == "s3"
    assert 'Secret storage/nope (key "RUSTFS_SECRET_KEY") not found' in err.value.message
    assert "rustfs.admin_secret" in err.value.message
    conns = Connections(Config(timeout=3, kubeconfig=config.kubeconfig, endpoints=dict(ENDPOINTS),
                               rustfs=RustfsConfig(secret_key_key="MINIO_SECRET_KEY")))
    with pytest.raises(SourceError) as err:
        conns.rustfs_admin()
    assert 'has no key "MINIO_SECRET_KEY" (keys: RUSTFS_ACCESS_KEY, RUSTFS_SECRET_KEY)' in err.value.message
    with pytest.raises(SourceError) as err:
        Connections(config).postgres_admin("ai-system", "other-cluster")
    assert "ai-system/other-cluster-superuser" in err.value.message and "cnpg.superuser_secret_suffix" in \
        err.value.message


def test_explicit_prometheus_urls_win(config):
    conns = Connections(Config(kubeconfig=config.kubeconfig, prometheus=PrometheusConfig(
        url="https://prom.example/", alertmanager_url="https://am.example")))
    assert conns.prometheus_url() == "https://prom.example"
    assert conns.alertmanager_url() == "https://am.example"
    assert conns._kube is None  # no cluster call needed


def test_host_helpers():
    assert normalise_host("svc.ns.svc.cluster.local") == "svc.ns.svc"
    assert normalise_host("svc.ns.svc.corp.internal.") == "svc.ns.svc"
    assert normalise_host("example.com") == "example.com"
    assert split_endpoint("[::1]:6379") == ("::1", 6379)
    with pytest.raises(ValueError):
        split_endpoint("host-without-port")


@given(st.text(max_size=40), st.integers(min_value=1, max_value=65535))
def test_resolve_never_crashes_on_odd_hosts(host, port):
    conns = Connections(Config(kubeconfig="/nonexistent/kubeconfig", endpoints={"a.b.svc:1": "127.0.0.1:2"}))
    try:
        h, p = conns.resolve(host, port)
    except SourceError as exc:
        assert exc.system == "kubernetes"  # an in-cluster name without a mapping tries a port-forward
        return
    assert isinstance(h, str) and isinstance(p, int)
