"""Pure parsers for application credentials: Redis/PostgreSQL URLs and env-var naming conventions.

Nothing here raises on odd input, and no value ever reaches a message: problems name variables only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "dragonfly")
TLS_SCHEMES = ("rediss", "valkeys")
POSTGRES_SCHEMES = ("postgres", "postgresql")


@dataclass(frozen=True)
class UrlParts:
    """Fields found in a connection URL; None = not present in the URL."""

    scheme: str = ""
    """Lower-case scheme ('postgresql' for jdbc:postgresql)."""
    host: str | None = None
    """Host (IPv6 without brackets)."""
    port: int | None = None
    """Port."""
    username: str | None = None
    """Percent-decoded user name."""
    password: str | None = None
    """Percent-decoded password (callers keep it out of reprs)."""
    path: str | None = None
    """Database name / number from the path, without the leading '/'."""
    query: tuple[tuple[str, str], ...] = ()
    """Query parameters in order."""

    def __repr__(self) -> str:  # the password never shows
        return (f"UrlParts(scheme={self.scheme!r}, host={self.host!r}, port={self.port!r}, "
                f"username={self.username!r}, password={'<set>' if self.password is not None else None}, "
                f"path={self.path!r})")

    def param(self, *names: str) -> str | None:
        """The first query parameter with one of these names."""
        for key, value in self.query:
            if key in names:
                return value
        return None


def _first_sep(text: str, start: int = 0) -> int:
    hits = [i for i in (text.find(c, start) for c in "/?#") if i >= 0]
    return min(hits) if hits else len(text)


def parse_url(text: str) -> UrlParts | None:
    """Parse `scheme://[user[:pass]@]host[:port][/path][?query]` (also `jdbc:` prefixed); None if not a URL.

    Byte-exact: nothing is stripped (urllib would drop tabs/newlines). Everything before the last `@` of
    the authority is user info, and an `@` after a `/` (but before any `?`) still ends the user info, so an
    unescaped `/` or `@` in a password never lands in the host, port or path.
    """
    if not isinstance(text, str) or "://" not in text:
        return None
    head, rest = text.split("://", 1)
    scheme = head.strip().lower()
    if scheme.startswith("jdbc:"):
        scheme = scheme[5:]
    if not scheme or not all(c.isalnum() or c in "+-." for c in scheme):
        return None
    end, last_at = _first_sep(rest), rest.rfind("@")
    if last_at >= end and not set(rest[end:last_at]) & {"?", "#"}:
        end = _first_sep(rest, last_at + 1)  # an unescaped '/' in the password, not a path
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    user = pw = None
    if at:
        u, sep, p = userinfo.partition(":")
        user, pw = unquote(u) or None, (unquote(p) if sep else None)
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return None
        host, after = hostport[1:close], hostport[close + 1:]
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
    port = None
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            return UrlParts(scheme, unquote(host) or None, None, user, pw, None)
        port = int(port_text)
    path_part, _, query_part = tail.partition("#")[0].partition("?")
    path = unquote(path_part[1:]) if path_part.startswith("/") else None
    query = tuple((k, v[-1]) for k, v in parse_qs(query_part, keep_blank_values=True).items()) if query_part else ()
    return UrlParts(scheme, unquote(host) or None, port, user, pw, path or None, query)


def split_host_port(text: str, default_port: int) -> tuple[str, int | None]:
    """`host:port` or `[v6]:port` or bare host; port None when unparseable."""
    text = (text or "").strip()
    if "://" in text:
        parsed = parse_url(text)
        if parsed is None:
            return "", None
        return parsed.host or "", parsed.port or default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return host, default_port
    return (host, int(port_text)) if port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536 else (host, None)


def parse_bool(text: str | None) -> bool | None:
    """true/false in the usual spellings; None when neither."""
    low = (text or "").strip().lower()
    if low in ("1", "true", "yes", "on", "y"):
        return True
    if low in ("0", "false", "no", "off", "n"):
        return False
    return None


# (suffix, field, rank): matched longest suffix first; lower rank wins when a group has two.
REDIS_FIELDS = [("CONNECTION_STRING", "url", 0), ("URL", "url", 1), ("URI", "url", 2), ("HOSTNAME", "host", 1),
                ("HOST", "host", 0), ("PORT", "port", 0), ("USERNAME", "username", 0), ("USER", "username", 1),
                ("PASSWORD", "password", 0), ("PASS", "password", 1), ("DB", "db", 0), ("DATABASE", "db", 1),
                ("KEY_PREFIX", "key_prefix", 0), ("PREFIX", "key_prefix", 1), ("TLS", "tls", 0),
                ("SSL", "tls", 1)]
POSTGRES_FIELDS = [("URL_HOST", "host", 0), ("URL_PORT", "port", 0), ("URL_DATABASE", "dbname", 0),
                   ("CONNECTION_STRING", "url", 2), ("URL", "url", 0), ("URI", "url", 1), ("DSN", "url", 3),
                   ("HOSTNAME", "host", 1), ("HOST", "host", 0), ("PORT", "port", 0), ("USERNAME", "user", 0),
                   ("USER", "user", 1), ("PASSWORD", "password", 0), ("PASS", "password", 1),
                   ("DATABASE", "dbname", 0), ("NAME", "dbname", 1), ("DB", "dbname", 2), ("SSLMODE", "sslmode", 0)]
S3_FIELDS = [("SECRET_ACCESS_KEY", "secret_key", 0), ("SECRET_KEY", "secret_key", 1), ("SECRETKEY", "secret_key", 2),
             ("ACCESS_KEY_ID", "access_key", 0), ("ACCESS_KEY", "access_key", 1), ("ACCESSKEY", "access_key", 2),
             ("ENDPOINT_URL_S3", "endpoint", 0), ("ENDPOINT_URL", "endpoint", 1), ("ENDPOINT", "endpoint", 2),
             ("URL", "endpoint", 3), ("DEFAULT_REGION", "region", 1), ("REGION", "region", 0),
             ("BUCKET_NAME", "bucket", 0), ("BUCKET", "bucket", 1), ("USE_HTTPS", "use_https", 0),
             ("USE_SSL", "use_https", 1), ("FORCE_PATH_STYLE", "path_style", 0)]
PG_NAMES = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password",
            "PGDATABASE": "dbname", "PGSSLMODE": "sslmode"}
S3_STANDALONE = {"BUCKET_NAME": "bucket", "BUCKET": "bucket"}

REDIS_TOKENS = {"REDIS", "VALKEY", "DRAGONFLY", "DFLY"}
PG_TOKENS = {"DB", "DATABASE", "POSTGRES", "POSTGRESQL", "PG", "PSQL"}
S3_TOKENS = {"S3", "AWS", "MINIO", "RUSTFS"}
NOT_PG = REDIS_TOKENS | S3_TOKENS | {"MONGO", "MONGODB", "MYSQL", "MARIADB", "CLICKHOUSE", "SQLITE", "VECTOR"}


def _by_length(fields: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return sorted(fields, key=lambda f: -len(f[0]))


_TABLES = {"redis": (_by_length(REDIS_FIELDS), REDIS_TOKENS), "postgres": (_by_length(POSTGRES_FIELDS), PG_TOKENS),
           "s3": (_by_length(S3_FIELDS), S3_TOKENS)}
"""Each kind's suffixes, longest first, and its tokens."""


@functools.lru_cache(maxsize=8192)
def classify_name(name: str, kind: str) -> tuple[str, str, int] | None:
    """(group, field, rank) when env var `name` follows the `kind` (redis|postgres|s3) conventions. Remembered
    per name (bounded): every refresh classifies the same variable names again, for each of the three kinds."""
    upper = name.upper()
    if kind == "postgres" and upper in PG_NAMES:
        return "", PG_NAMES[upper], 0
    if kind == "s3" and upper in S3_STANDALONE:
        return "", S3_STANDALONE[upper], 2
    table, tokens = _TABLES[kind]
    for suffix, fld, rank in table:
        if upper.endswith("_" + suffix):
            prefix = upper[: -len(suffix) - 1].split("_")
            if not tokens & set(prefix):
                return None
            if kind == "postgres" and NOT_PG & set(prefix):
                return None
            if kind == "redis" and S3_TOKENS & set(prefix):
                return None
            if kind == "s3" and "AWS" in prefix:
                rank += 10  # SDK-wide AWS_* settings yield to the app's own S3_* settings
            return "_".join(t for t in prefix if t and t not in tokens), fld, rank
    return None


def url_kind(value: str | None) -> str | None:
    """'redis' or 'postgres' when the value is such a connection URL."""
    low = (value or "").strip().lower()
    if low.startswith("jdbc:postgresql://") or low.split("://", 1)[0] in POSTGRES_SCHEMES and "://" in low:
        return "postgres"
    if "://" in low and low.split("://", 1)[0] in REDIS_SCHEMES:
        return "redis"
    return None


def dragonfly_s3_args(args: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`--dir=s3://bucket/path`, `--s3_endpoint=host:port`, `--s3_use_https=false` (also `--flag value`)."""
    found: dict[str, str] = {}
    items = list(args)
    for idx, arg in enumerate(items):
        if not isinstance(arg, str) or not arg.startswith("--"):
            continue
        key, sep, value = arg[2:].partition("=")
        if not sep and idx + 1 < len(items) and not str(items[idx + 1]).startswith("--"):
            value = str(items[idx + 1])
        found[key.replace("-", "_")] = value
    out: dict[str, Any] = {}
    target = found.get("dir", "")
    if target.lower().startswith("s3://"):
        out["bucket"] = target[5:].split("/", 1)[0]
    if found.get("s3_endpoint"):
        out["endpoint"] = found["s3_endpoint"]
    if "s3_use_https" in found:
        out["use_https"] = parse_bool(found["s3_use_https"]) is not False
    return out
