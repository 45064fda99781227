"""Builders that assemble credential records from a container's resolved env (records re-exported)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.appcreds_detect import (TLS_SCHEMES, POSTGRES_SCHEMES, REDIS_SCHEMES, classify_name, dragonfly_s3_args, parse_bool,
                                    parse_url, split_host_port, url_kind)
from checks.appcreds_models import PostgresCredentials, RedisCredentials, S3Credentials
from checks.config import SecretRef

if TYPE_CHECKING:
    from checks.appcreds import EnvValue

__all__ = ["PostgresCredentials", "RedisCredentials", "S3Credentials", "build_postgres", "build_redis", "build_s3"]


def _src(ev: EnvValue, part: str = "") -> str:
    label = f"env {ev.name}" + (f" ({part})" if part else "")
    if ev.source.startswith("literal"):
        return f"{label} [{ev.source}]"
    return f"{label} ← {ev.source}"


def _groups(env: dict[str, EnvValue], kind: str) -> dict[str, dict[str, EnvValue]]:
    """Group -> field -> variable; the lowest-rank variable wins within a group."""
    best: dict[str, dict[str, tuple[int, EnvValue]]] = {}
    for name, ev in env.items():
        hit = classify_name(name, kind)
        if hit is None and url_kind(ev.value) == kind:
            hit = (name.upper(), "url", 9)
        if hit is None:
            continue
        group, fld, rank = hit
        generic = kind == "postgres" and not {"POSTGRES", "POSTGRESQL", "PG"} & set(name.upper().split("_"))
        if fld == "url" and generic and "://" in (ev.value or "") and url_kind(ev.value) != kind:
            continue  # DATABASE_URL=sqlite://… is another database, not a broken PostgreSQL URL
        slot = best.setdefault(group, {})
        if fld not in slot or rank < slot[fld][0]:
            slot[fld] = (rank, ev)
    return {g: {f: ev for f, (_, ev) in fields.items()} for g, fields in best.items()}


class _Acc:
    """Collects field values with their sources for one candidate."""

    def __init__(self, container: str, problems: list[str]) -> None:
        self.values: dict[str, object] = {}
        self.source: dict[str, str] = {}
        self.refs: dict[str, SecretRef] = {}
        self.container, self.problems = container, problems

    def put(self, fld: str, value: object, ev: EnvValue, part: str = "") -> None:
        if fld in self.values or value is None:
            return
        self.values[fld] = value
        self.source[fld] = _src(ev, part)
        if ev.secret_ref:
            self.refs[fld] = ev.secret_ref

    def put_int(self, fld: str, ev: EnvValue) -> None:
        text = (ev.value or "").strip()
        if text.isascii() and text.isdigit():
            self.put(fld, int(text), ev)
        elif text:
            self.problems.append(f"env {ev.name} of container {self.container} is not a number")

    def url(self, ev: EnvValue, schemes: tuple[str, ...], fields: dict[str, str], query: dict[str, str]) -> None:
        """Take URL parts (`fields`: UrlParts attribute -> field) and query parameters (param -> field)."""
        parts = parse_url(ev.value or "")
        if parts is None or parts.scheme not in schemes:
            if ev.value is not None:
                self.problems.append(f"env {ev.name} of container {self.container} is not a "
                                     f"{schemes[0]}:// URL")
            return
        for attr, fld in fields.items():
            value = getattr(parts, attr)
            if fld == "db":
                value = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
            self.put(fld, value, ev, "URL " + fld)
        for param, fld in query.items():
            self.put(fld, parts.param(param), ev, "URL query " + param)
        if parts.scheme in TLS_SCHEMES:
            self.put("tls", True, ev, "URL scheme")

    def inherit(self, fields: tuple[str, ...], default: _Acc | None) -> None:
        for fld in fields if default else ():
            if fld not in self.values and fld in default.values:  # type: ignore[union-attr]
                self.values[fld] = default.values[fld]  # type: ignore[union-attr]
                self.source[fld] = default.source[fld] + " (shared)"  # type: ignore[union-attr]
                if fld in default.refs:  # type: ignore[union-attr]
                    self.refs[fld] = default.refs[fld]  # type: ignore[union-attr]

    def secret_ref(self, main: str) -> SecretRef | None:
        return self.refs.get(main) or next(iter(self.refs.values()), None)


def _collect(env: dict[str, EnvValue], kind: str, container: str, problems: list[str],
             fill: object) -> dict[str, _Acc]:
    accs: dict[str, _Acc] = {}
    for group, fields in _groups(env, kind).items():
        acc = _Acc(container, problems)
        fill(acc, fields)  # type: ignore[operator]
        accs[group] = acc
    return accs


def _merged(accs: dict[str, _Acc], fields: tuple[str, ...], secret: str, wanted: set[str]) -> list[tuple[str, _Acc]]:
    """Prefixed groups (LITELLM_REDIS_PASSWORD) take the `fields` they lack from the plain group (REDIS_HOST,
    REDIS_USERNAME); a plain group without a secret that a prefixed group completed is not reported alone."""
    default = accs.get("")
    out, absorbed = [], False
    for group, acc in accs.items():
        if not wanted & set(acc.values):
            continue
        if group and default is not None:
            before = set(acc.values)
            acc.inherit(fields, default)
            absorbed |= set(acc.values) != before and secret in acc.values
        out.append((group, acc))
    if absorbed and default is not None and secret not in default.values:
        out = [(g, a) for g, a in out if g]
    return out


def _fill_redis(acc: _Acc, f: dict[str, EnvValue]) -> None:
    if "url" in f:
        acc.url(f["url"], REDIS_SCHEMES, {"host": "host", "port": "port", "username": "username",
                                          "password": "password", "path": "db"}, {"db": "db"})
    if "host" in f:
        host, port = split_host_port(f["host"].value or "", 0)
        acc.put("host", host or None, f["host"])
        acc.put("port", port or None, f["host"])
    for fld in ("port", "db"):
        if fld in f:
            acc.put_int(fld, f[fld])
    for fld in ("username", "password", "key_prefix"):
        if fld in f:
            acc.put(fld, f[fld].value, f[fld])
    if "tls" in f:
        acc.put("tls", parse_bool(f["tls"].value), f["tls"])


def build_redis(env: dict[str, EnvValue], container: str, problems: list[str]) -> list[RedisCredentials]:
    """Redis candidates from `REDIS_URL`, `*_REDIS_URL`, `REDIS_HOST`…, `<P>_REDIS_<FIELD>`, redis:// values."""
    accs = _collect(env, "redis", container, problems, _fill_redis)
    prefix = next((ev for name, ev in env.items() if name.upper().endswith("KEY_PREFIX")
                   and classify_name(name, "s3") is None), None)
    out = []
    for group, acc in _merged(accs, ("host", "port", "username", "db", "tls", "key_prefix"), "password",
                              {"host", "password", "username"}):
        if prefix is not None:
            acc.put("key_prefix", prefix.value, prefix)
        v = acc.values
        out.append(RedisCredentials(host=str(v.get("host", "")), port=int(v.get("port", 6379)),  # type: ignore[arg-type]
                                    username=str(v.get("username", "")), password=v.get("password"),  # type: ignore[arg-type]
                                    db=int(v.get("db", 0)), key_prefix=str(v.get("key_prefix", "")),  # type: ignore[arg-type]
                                    source=acc.source,
                                    secret_ref=acc.secret_ref("password"), tls=bool(v.get("tls", False)),
                                    container=container, group=group))
    return out


def _fill_postgres(acc: _Acc, f: dict[str, EnvValue]) -> None:
    if "url" in f:
        acc.url(f["url"], POSTGRES_SCHEMES, {"host": "host", "port": "port", "username": "user",
                                             "password": "password", "path": "dbname"},
                {"user": "user", "password": "password", "sslmode": "sslmode", "dbname": "dbname"})
    if "host" in f:
        host, port = split_host_port(f["host"].value or "", 0)
        acc.put("host", host or None, f["host"])
        acc.put("port", port or None, f["host"])
    if "port" in f:
        acc.put_int("port", f["port"])
    for fld in ("user", "password", "dbname", "sslmode"):
        if fld in f:
            acc.put(fld, f[fld].value, f[fld])


def build_postgres(env: dict[str, EnvValue], container: str, problems: list[str]) -> list[PostgresCredentials]:
    """PostgreSQL candidates from `DATABASE_URL`, `PG*`, `DB_*`, `POSTGRES_*`, JDBC `KC_DB_URL` + `KC_DB_*`."""
    accs = _collect(env, "postgres", container, problems, _fill_postgres)
    out = []
    for group, acc in _merged(accs, ("host", "port", "user", "dbname", "sslmode"), "password",
                              {"host", "password", "user"}):
        v = acc.values
        out.append(PostgresCredentials(host=str(v.get("host", "")), port=int(v.get("port", 5432)),  # type: ignore[arg-type]
                                       user=str(v.get("user", "")), password=v.get("password"),  # type: ignore[arg-type]
                                       dbname=str(v.get("dbname", "")), source=acc.source,
                                       secret_ref=acc.secret_ref("password"), sslmode=str(v.get("sslmode", "")),
                                       container=container, group=group))
    return out


def _fill_s3(acc: _Acc, f: dict[str, EnvValue]) -> None:
    for fld in ("access_key", "secret_key", "region", "bucket", "endpoint"):
        if fld in f:
            acc.put(fld, f[fld].value, f[fld])
    for fld in ("use_https", "path_style"):
        if fld in f:
            acc.put(fld, parse_bool(f[fld].value), f[fld])


def build_s3(env: dict[str, EnvValue], args: tuple[str, ...], container: str,
             problems: list[str]) -> list[S3Credentials]:
    """S3 candidates from `AWS_*`, `S3_*`, `<P>_S3_…`, `BUCKET_NAME`, and Dragonfly's `--dir=s3://` args."""
    accs = _collect(env, "s3", container, problems, _fill_s3)
    flags = dragonfly_s3_args(args)
    if flags:
        default = accs.setdefault("", _Acc(container, problems))
        names = {"bucket": "--dir", "endpoint": "--s3_endpoint", "use_https": "--s3_use_https"}
        for fld, value in flags.items():  # the flags are what Dragonfly actually uses
            default.values[fld] = value
            default.source[fld] = f"arg {names[fld]} of container {container}"
            default.refs.pop(fld, None)
    out = []
    for group, acc in _merged(accs, ("access_key", "secret_key", "endpoint", "region", "use_https", "path_style"),
                              "secret_key", {"access_key", "secret_key", "bucket", "endpoint"}):
        v = acc.values
        endpoint = str(v.get("endpoint", "") or "")
        if endpoint and "://" not in endpoint:
            scheme = "http" if v.get("use_https") is False else "https"
            endpoint = f"{scheme}://{endpoint}"
            acc.source["endpoint"] = acc.source.get("endpoint", "") + f" (no scheme given: {scheme})"
        out.append(S3Credentials(endpoint=endpoint, access_key=str(v.get("access_key", "") or ""),
                                 secret_key=v.get("secret_key"), region=str(v.get("region", "") or ""),  # type: ignore[arg-type]
                                 bucket=str(v.get("bucket", "") or ""), source=acc.source,
                                 secret_ref=acc.secret_ref("secret_key"),
                                 path_style=v.get("path_style"), container=container, group=group))  # type: ignore[arg-type]
    return out
