"""find_app_credentials and the workload freshness helpers, against kmock over HTTP; parser properties."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checks.appcreds import EnvValue, expand, find_app_credentials, parse_workload_ref
from checks.appcreds_build import build_postgres, build_redis, build_s3
from checks.appcreds_detect import classify_name, dragonfly_s3_args, parse_url
from checks.config import SecretRef
from checks.errors import SourceError
from checks.sources.kube import KubeSource
from checks.workloads import (reloader_status, secret_uses, stakater_env_name, stakater_hash, stale_consumer_pods,
                              workloads_using_secret)
from tests.kube_fixture import (CRD_RESOURCES, SECRET_CHANGED, KubeLab, cluster_objects, deployment, meta,
                                secret, write_kubeconfig)


def _sk(name: str, key: str) -> dict:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def app_objects() -> dict:
    objs = cluster_objects()

    def add(res: str, obj: dict) -> None:
        objs[res, obj["metadata"]["namespace"], obj["metadata"]["name"]] = obj

    add("v1/secrets", secret("worker-redis", "apps", {
        "url": "rediss://worker:p%40ss%2Fword@dragonfly.cache.svc.cluster.local:6380/2"}))
    add("apps/v1/deployments", deployment("bullmq-worker", "apps", [{
        "name": "worker", "image": "worker", "env": [{"name": "REDIS_URL", **_sk("worker-redis", "url")},
                                                     {"name": "REDIS_KEY_PREFIX", "value": "bull:"}]}]))
    add("v1/secrets", secret("plain-redis", "apps", {"url": "redis://plain:pw@dragonfly.cache.svc.cluster.local:6379/0"}))
    add("apps/v1/deployments", deployment("plain-worker", "apps", [{
        "name": "worker", "image": "worker", "env": [{"name": "REDIS_URL", **_sk("plain-redis", "url")}]}]))
    add("v1/secrets", secret("langfuse-env", "ai-system", {"REDIS_PASSWORD": "lf-redis",
                                                           "S3_EVENT_UPLOAD_SECRET_ACCESS_KEY": "lf-s3-events"}))
    add("v1/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("langfuse-config", "ai-system"),
                          "data": {"REDIS_HOST": "dragonfly.cache.svc.cluster.local", "REDIS_PORT": "6379",
                                   "S3_EVENT_UPLOAD_BUCKET": "langfuse-events"}})
    add("v1/secrets", secret("langfuse-db", "ai-system", {"uri": "postgresql://langfuse:lf-pg@ai-postgres-rw"
                                                                 ".ai-system.svc:5432/langfuse?sslmode=disable"}))
    add("apps/v1/deployments", deployment("langfuse-web", "ai-system", [{
        "name": "web", "image": "langfuse",
        "envFrom": [{"configMapRef": {"name": "langfuse-config"}, "prefix": "LANGFUSE_"},
                    {"secretRef": {"name": "langfuse-env"}, "prefix": "LANGFUSE_"}],
        "env": [{"name": "DIRECT_URL", **_sk("langfuse-db", "uri")},
                {"name": "LANGFUSE_S3_EVENT_UPLOAD_ACCESS_KEY_ID", "value": "langfuse-events"},
                {"name": "LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT", "value": "http://rustfs-svc.storage.svc:9000"},
                {"name": "LANGFUSE_S3_EVENT_UPLOAD_REGION", "value": "us-east-1"},
                {"name": "LANGFUSE_S3_MEDIA_UPLOAD_BUCKET", "value": "langfuse-media"},
                {"name": "LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID", "value": "langfuse-media"}]}]))
    add("v1/secrets", secret("keycloak-db", "identity", {"username": "keycloak", "password": "kc-pass"}))
    add("apps/v1/statefulsets", deployment("keycloak", "identity", [{
        "name": "keycloak", "image": "keycloak",
        "env": [{"name": "KC_DB", "value": "postgres"},
                {"name": "KC_DB_URL", "value": "jdbc:postgresql://keycloak-pg-rw.identity.svc:5432/keycloak"},
                {"name": "KC_DB_USERNAME", **_sk("keycloak-db", "username")},
                {"name": "KC_DB_PASSWORD", **_sk("keycloak-db", "password")}]}], kind="StatefulSet"))
    add("v1/secrets", secret("obot-s3", "ai-system", {"S3_ACCESS_KEY_ID": "obot", "S3_SECRET_ACCESS_KEY": "obot-s3"}))
    add("apps/v1/deployments", deployment("obot", "ai-system", [{
        "name": "obot", "image": "obot", "envFrom": [{"secretRef": {"name": "obot-s3"}}],
        "env": [{"name": "S3_ENDPOINT", "value": "rustfs-svc.storage.svc:9000"},
                {"name": "S3_BUCKET_NAME", "value": "obot-workspaces"}, {"name": "S3_REGION", "value": "us-east-1"},
                {"name": "DB_HOST", "value": "ai-postgres-rw.ai-system.svc:5433"}, {"name": "DB_USER", "value": "obot"},
                {"name": "DB_PASSWORD", **_sk("gone", "password")}, {"name": "DB_NAME", "value": "obot"},
                {"name": "AWS_ENDPOINT_URL", "value": "http://ignored:9000"},
                {"name": "REDIS_PASSWORD", **_sk("obot-s3", "NO_SUCH_KEY")},
                {"name": "REDIS_HOST", "value": "dragonfly.cache.svc"},
                {"name": "ESCAPED", "value": "$$(S3_ENDPOINT)"}]}]))
    add("apps/v1/deployments", deployment("loki", "monitoring", [{
        "name": "loki", "image": "loki",
        "env": [{"name": "AWS_ACCESS_KEY_ID", "value": "loki"}, {"name": "AWS_SECRET_ACCESS_KEY", "value": "loki-s3"},
                {"name": "AWS_ENDPOINT_URL", "value": "http://generic:9000"},
                {"name": "AWS_ENDPOINT_URL_S3", "value": "http://rustfs-svc.storage.svc:9000"},
                {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"}, {"name": "AWS_REGION", "value": "us-east-1"},
                {"name": "BUCKET_NAME", "value": "loki-chunks"}]}]))
    return objs


@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    with KubeLab(app_objects(), CRD_RESOURCES) as lab:
        cfg = write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", lab.url, namespace="ai-system")
        source = KubeSource(str(cfg), None, None, timeout=5)
        yield source
        source.close()


# -- find_app_credentials ----------------------------------------------------------------------------


def test_litellm_redis_fields_and_postgres_url_with_expansion(kube):
    creds = find_app_credentials(kube, "ai-system", "deploy/litellm")
    assert creds.workload == "deploy/litellm" and creds.problems == ()
    r = creds.redis
    assert (r.host, r.port, r.username, r.password) == ("dragonfly.cache.svc.cluster.local", 6379, "litellm",
                                                        "litellm-redis")
    assert r.source["password"] == ("env REDIS_PASSWORD ← secret ai-system/litellm-env key LITELLM_REDIS_PASSWORD")
    assert r.source["host"] == "env REDIS_HOST [literal]"
    assert r.secret_ref == SecretRef("ai-system", "litellm-env", "LITELLM_REDIS_PASSWORD")
    pg = creds.postgres
    assert (pg.host, pg.port, pg.user, pg.dbname) == ("ai-postgres-rw.ai-system.svc", 5432, "litellm", "litellm")
    assert pg.password == "litellm-pg\n"  # not trimmed: the trailing newline is evidence
    assert pg.secret_ref.name == "litellm-db"
    assert "$(PGPASSWORD) ← secret ai-system/litellm-db key password" in pg.source["password"]
    assert {u.secret for u in creds.secret_refs} == {"litellm-env", "litellm-db", "litellm-tls"}
    assert creds.secret_names == ("litellm-env", "litellm-db", "litellm-tls")
    assert creds.env_value("POD_NAMESPACE").value == "ai-system"
    assert creds.env_value("LITELLM_MASTER_KEY").source == "envFrom secret ai-system/litellm-env key LITELLM_MASTER_KEY"
    for secret_value in ("litellm-redis", "litellm-pg", "sk-master"):
        assert secret_value not in repr(creds)


def test_redis_url_from_secret_with_tls_db_and_prefix(kube):
    r = find_app_credentials(kube, "apps", "bullmq-worker").redis
    assert (r.host, r.port, r.username, r.password, r.db, r.tls) == (
        "dragonfly.cache.svc.cluster.local", 6380, "worker", "p@ss/word", 2, True)
    assert r.key_prefix == "bull:"
    assert r.source["password"] == "env REDIS_URL (URL password) ← secret apps/worker-redis key url"
    assert "p@ss" not in repr(r) and r.fingerprint().startswith("sha256:")


def test_envfrom_with_prefix_app_prefixed_vars_and_value_detected_url(kube):
    creds = find_app_credentials(kube, "ai-system", "deploy/langfuse-web")
    r = creds.redis
    assert (r.host, r.port, r.password, r.group) == ("dragonfly.cache.svc.cluster.local", 6379, "lf-redis", "LANGFUSE")
    assert r.source["password"] == ("env LANGFUSE_REDIS_PASSWORD ← envFrom secret ai-system/langfuse-env key "
                                    "REDIS_PASSWORD (prefix LANGFUSE_)")
    assert r.source["host"].startswith("env LANGFUSE_REDIS_HOST ← envFrom configmap ai-system/langfuse-config")
    pg = creds.postgres
    assert (pg.user, pg.password, pg.dbname, pg.sslmode) == ("langfuse", "lf-pg", "langfuse", "disable")
    s3 = {c.group: c for c in creds.candidates if type(c).__name__ == "S3Credentials"}
    events = s3["LANGFUSE_EVENT_UPLOAD"]
    assert (events.bucket, events.access_key, events.secret_key, events.endpoint, events.region) == (
        "langfuse-events", "langfuse-events", "lf-s3-events", "http://rustfs-svc.storage.svc:9000", "us-east-1")
    assert events.secret_ref == SecretRef("ai-system", "langfuse-env", "S3_EVENT_UPLOAD_SECRET_ACCESS_KEY")
    media = s3["LANGFUSE_MEDIA_UPLOAD"]
    assert (media.bucket, media.access_key, media.secret_key) == ("langfuse-media", "langfuse-media", None)
    assert creds.s3 is events  # the complete candidate wins


def test_jdbc_url_with_keycloak_credentials(kube):
    creds = find_app_credentials(kube, "identity", "sts/keycloak")
    pg = creds.postgres
    assert (pg.host, pg.port, pg.dbname, pg.user, pg.password, pg.group) == (
        "keycloak-pg-rw.identity.svc", 5432, "keycloak", "keycloak", "kc-pass", "KC")
    assert pg.source["user"] == "env KC_DB_USERNAME ← secret identity/keycloak-db key username"
    assert pg.secret_ref == SecretRef("identity", "keycloak-db", "password")
    assert creds.redis is None and creds.s3 is None


def test_dragonfly_backup_args_and_aws_env(kube):
    for ref in ("sts/dragonfly", "dragonfly/dragonfly"):
        s3 = find_app_credentials(kube, "cache", ref).s3
        assert s3.endpoint == "http://rustfs-svc.storage.svc.cluster.local:9000"
        assert (s3.bucket, s3.access_key, s3.secret_key) == ("dragonfly-backups", "dragonfly-backup", "df-s3-secret\n")
        assert s3.source["bucket"] == "arg --dir of container dragonfly"
        assert s3.source["endpoint"].startswith("arg --s3_endpoint of container dragonfly")
        assert s3.secret_ref == SecretRef("cache", "dragonfly-auth", "AWS_SECRET_ACCESS_KEY")


def test_generic_s3_and_db_vars_with_missing_secret_and_key(kube):
    creds = find_app_credentials(kube, "ai-system", "obot")
    s3 = creds.s3
    assert (s3.access_key, s3.secret_key, s3.bucket, s3.region) == ("obot", "obot-s3", "obot-workspaces", "us-east-1")
    assert s3.endpoint == "https://rustfs-svc.storage.svc:9000"  # the app's S3_ENDPOINT beats AWS_ENDPOINT_URL
    assert s3.source["endpoint"] == "env S3_ENDPOINT [literal] (no scheme given: https)"
    assert s3.source["secret_key"] == "env S3_SECRET_ACCESS_KEY ← envFrom secret ai-system/obot-s3 key S3_SECRET_ACCESS_KEY"
    pg = creds.postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("ai-postgres-rw.ai-system.svc", 5433, "obot",
                                                                   None, "obot")
    assert creds.redis.password is None and creds.redis.host == "dragonfly.cache.svc"
    assert any("secret ai-system/gone not found (env DB_PASSWORD of deploy/obot container obot)" == p
               for p in creds.problems), creds.problems
    assert any('has no key "NO_SUCH_KEY"' in p and "env REDIS_PASSWORD" in p for p in creds.problems)
    assert creds.env_value("ESCAPED").value == "$(S3_ENDPOINT)"


def test_s3_endpoint_without_scheme_and_aws_precedence(kube):
    s3 = find_app_credentials(kube, "monitoring", "deploy/loki").s3
    assert s3.endpoint == "http://rustfs-svc.storage.svc:9000"  # AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL
    assert s3.region == "us-east-1"  # AWS_REGION beats AWS_DEFAULT_REGION
    assert (s3.bucket, s3.access_key, s3.secret_key, s3.secret_ref) == ("loki-chunks", "loki", "loki-s3", None)
    assert s3.source["bucket"] == "env BUCKET_NAME [literal]"


def test_missing_workload_and_bad_reference(kube):
    with pytest.raises(SourceError) as err:
        find_app_credentials(kube, "ai-system", "deploy/nope")
    assert err.value.kind == "notfound" and 'no Deployment named "nope"' in err.value.message
    with pytest.raises(SourceError, match="not a workload kind"):
        find_app_credentials(kube, "ai-system", "cronjob/x")
    assert parse_workload_ref("statefulset.apps/pg") == ("StatefulSet", "pg")
    assert parse_workload_ref("web") == (None, "web")


# -- freshness and Reloader --------------------------------------------------------------------------


def test_stakater_hash_test_vector_and_env_name():
    assert stakater_hash({"username": b"dante", "password": b"dante"}) == "161b312f6fb7df06a5e0d3940f3b953f8199b51c"
    assert stakater_env_name("litellm-db") == "STAKATER_LITELLM_DB_SECRET"
    assert stakater_env_name("a.b", "configmap") == "STAKATER_A_B_CONFIGMAP"


def test_stale_pods_and_secret_consumers(kube):
    db = kube.get_secret("ai-system", "litellm-db")
    deps = kube.list_deployments("ai-system")
    users = workloads_using_secret(deps, db)
    assert [(w.name, [(u.via, u.env_name, u.key) for u in uses]) for w, uses in users] == [
        ("litellm", [("env", "PGUSER", "username"), ("env", "PGPASSWORD", "password")])]
    (stale,) = stale_consumer_pods(kube.list_pods("ai-system"), db, users[0][0])
    assert stale.pod == "litellm-7d9f-old" and stale.behind_seconds == 2 * 3600
    assert stale.secret_changed == datetime.fromisoformat(SECRET_CHANGED.replace("Z", "+00:00"))
    other = kube.get_secret("ai-system", "litellm-env")  # created earlier than both pods' start: nothing stale
    assert other.last_changed is None or stale_consumer_pods(kube.list_pods("ai-system"), other) == ()
    tmpl_uses = secret_uses(deps[[d.name for d in deps].index("langfuse-web")].template)
    assert [(u.via, u.env_name) for u in tmpl_uses if u.secret == "langfuse-env"] == [("envFrom", "LANGFUSE_")]


def test_reloader_modes(kube):
    db = kube.get_secret("ai-system", "litellm-db")
    litellm = kube.get_deployment("ai-system", "litellm")
    status = reloader_status(litellm, db)
    assert status.watches and "secret.reloader.stakater.com/reload lists litellm-db" in status.reason
    assert status.hash_state == "absent" and status.expected_hash == stakater_hash(db.data)
    obot = kube.get_deployment("ai-system", "obot")
    assert not reloader_status(obot, db).watches
    from dataclasses import replace

    from checks.sources.kube_models import ContainerSpec, EnvVar
    auto = replace(litellm, annotations={"reloader.stakater.com/auto": "true"})
    assert reloader_status(auto, db).watches
    unrelated = kube.get_secret("cache", "dragonfly-auth")
    assert not reloader_status(auto, unrelated).watches and "does not reference" in reloader_status(auto, unrelated).reason
    search = replace(litellm, annotations={"reloader.stakater.com/search": "true"})
    assert not reloader_status(search, db).watches
    assert reloader_status(search, replace(db, annotations={"reloader.stakater.com/match": "true"})).watches
    ignored = replace(db, annotations={"reloader.stakater.com/ignore": "true"})
    assert not reloader_status(auto, ignored).watches
    env = (EnvVar("STAKATER_LITELLM_DB_SECRET", stakater_hash(db.data)),)
    hashed = replace(auto, template=replace(auto.template, containers=(ContainerSpec("litellm", env=env),)))
    assert reloader_status(hashed, db).hash_state == "match"
    rotated = replace(db, data={**db.data, "password": b"new"})
    assert reloader_status(hashed, rotated).hash_state == "mismatch"
    note = ('{"type":"SECRET","name":"litellm-db","namespace":"ai-system","hash":"%s","containerRefs":["litellm"],'
            '"observedAt":1768384805}' % stakater_hash(db.data))
    annotated = replace(auto, template=replace(auto.template, annotations={
        "reloader.stakater.com/last-reloaded-from": note}))
    st_ = reloader_status(annotated, db)
    assert st_.hash_state == "match" and st_.hash_source == "reloader.stakater.com/last-reloaded-from"


# -- pure parsers and properties ---------------------------------------------------------------------


def _env(**values: str) -> dict[str, EnvValue]:
    return {k: EnvValue(k, v, "secret ns/s key " + k, "app", SecretRef("ns", "s", k)) for k, v in values.items()}


def test_name_conventions():
    assert classify_name("LITELLM_REDIS_PASSWORD", "redis") == ("LITELLM", "password", 0)
    assert classify_name("REDIS_DB", "postgres") is None
    assert classify_name("KC_DB", "postgres") is None
    assert classify_name("PGPASSWORD", "postgres") == ("", "password", 0)
    assert classify_name("AWS_SECRET_ACCESS_KEY", "s3") == ("", "secret_key", 10)
    assert classify_name("SECRET_KEY", "s3") is None  # Django's SECRET_KEY is not S3
    assert classify_name("LANGFUSE_S3_EVENT_UPLOAD_BUCKET", "s3") == ("LANGFUSE_EVENT_UPLOAD", "bucket", 1)
    assert dragonfly_s3_args(["--dir", "s3://b/snap", "--s3_endpoint=h:9000", "--s3_use_https=false"]) == {
        "bucket": "b", "endpoint": "h:9000", "use_https": False}
    (pg,) = build_postgres(_env(DATABASE_URL="postgres://u:p@db:5432/app"), "app", [])
    assert (pg.host, pg.user, pg.password, pg.dbname) == ("db", "u", "p", "app")
    assert build_postgres(_env(DATABASE_URL="sqlite:///data.db"), "app", []) == []
    (merged,) = build_redis(_env(REDIS_HOST="df.cache.svc", REDIS_USERNAME="litellm", LITELLM_REDIS_PASSWORD="pw"),
                            "app", [])  # the plain settings and the app-prefixed password form one candidate
    assert (merged.host, merged.username, merged.password, merged.group) == ("df.cache.svc", "litellm", "pw",
                                                                             "LITELLM")
    assert merged.source["username"] == "env REDIS_USERNAME ← secret ns/s key REDIS_USERNAME (shared)"
    problems: list[str] = []
    (r,) = build_redis(_env(REDIS_URL="http://nope", REDIS_PASSWORD="x"), "app", problems)
    assert problems == ["env REDIS_URL of container app is not a redis:// URL"]


SAFE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=6, max_size=30)
NAMES = st.sampled_from(["REDIS_URL", "REDIS_PASSWORD", "REDIS_HOST", "REDIS_PORT", "APP_REDIS_PASSWORD",
                         "DATABASE_URL", "PGPASSWORD", "KC_DB_URL", "DB_PASSWORD", "DB_PORT", "AWS_SECRET_ACCESS_KEY",
                         "S3_ENDPOINT", "X_S3_SECRET_KEY", "BUCKET_NAME", "REDIS_DB", "CACHE_KEY_PREFIX"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_parse_url_never_crashes(text):
    parsed = parse_url(text)
    assert parsed is None or isinstance(parsed.scheme, str)
    parse_url("redis://" + text)
    parse_url("jdbc:postgresql://" + text)


@settings(max_examples=300, deadline=None)
@given(password=SAFE, scheme=st.sampled_from(["redis", "rediss", "postgres", "postgresql", "jdbc:postgresql"]),
       user=st.sampled_from(["", "app", "litellm"]))
def test_url_password_never_leaks_into_repr(password, scheme, user):
    def shown(pw: str) -> str:
        url = f"{scheme}://{user}:{pw}@host.ns.svc:5432/0"
        env = _env(REDIS_URL=url) if "redis" in scheme else _env(DATABASE_URL=url)
        problems: list[str] = []
        found = build_redis(env, "app", problems) + build_postgres(env, "app", problems)
        return repr(found) + " ".join(problems) + repr(parse_url(url))

    assume(password not in shown("QQQQQQ"))  # equal to text shown anyway (scheme, host, field names)
    assert password not in shown(password)


def _shown(values: dict[str, str], args: list[str]) -> str:
    env = _env(**values)
    problems: list[str] = []
    found = build_redis(env, "app", problems) + build_postgres(env, "app", problems) + \
        build_s3(env, tuple(args), "app", problems)
    return repr(found) + " ".join(problems)


SECRET_NAMES = ("PASSWORD", "SECRET_ACCESS_KEY", "SECRET_KEY")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(NAMES, SAFE, max_size=8), st.lists(st.text(max_size=30), max_size=4))
def test_env_builders_never_crash_or_leak(values, args):
    shown = _shown(values, args)
    secrets = {k: v for k, v in values.items() if k.endswith(SECRET_NAMES)}
    masked = _shown({k: ("MASKED" + str(i) if k in secrets else v) for i, (k, v) in enumerate(values.items())}, args)
    for value in secrets.values():
        assume(value not in masked)  # the value happens to equal other shown text (a field name, a host…)
        assert value not in shown


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
                                             st.text(max_size=10), max_size=4))
def test_expand_never_crashes(text, names):
    env = {k: EnvValue(k, v, "literal") for k, v in names.items()}
    out, used = expand(text, env)
    assert isinstance(out, str) and all(u.name in names for u in used)
    if "$" not in text:
        assert out == text and used == []



def test_plain_redis_url_is_not_tls(kube):
    r = find_app_credentials(kube, "apps", "plain-worker").redis
    assert (r.username, r.tls) == ("plain", False)
