"""The capture bundle: its file format (gzip JSON, versioned) and the value codec.

Values are plain JSON where JSON can hold them; everything else is a one-key object whose key starts
with `$` (see docs/bundle-format.md). Dataclasses are written with their class name and read back only
when that name is in `allowed_types()`: a fixed list of `checks.*` result classes. Loading never imports
a module named by the file, never unpickles, never evaluates anything.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any

from checks.errors import SourceError

FORMAT = "clusterdeck-bundle"
VERSION = 1
"""The bundle version this clusterdeck writes and reads."""

MIGRATIONS: dict[int, Any] = {}
"""Older version -> function upgrading a bundle document by one version (none exist yet: 1 is the first)."""

TYPE_MODULES = (
    "checks.config", "checks.connect_models", "checks.sources.kube_models", "checks.sources.kube_resources",
    "checks.sources.redis_source", "checks.sources.postgres", "checks.sources.s3", "checks.sources.rustfs_admin",
    "checks.sources.prometheus", "checks.parsers.acl", "checks.parsers.acl_log", "checks.parsers.info",
    "checks.parsers.slowlog", "checks.rustfs_identity",
)
"""Modules whose dataclasses may appear in a bundle (what the sources return, and the config)."""

MOVED_TYPES = {
    "checks.rustfs_iam.AccessKeyInfo": "checks.rustfs_identity.AccessKeyInfo",
    "checks.rustfs_iam.IamSnapshot": "checks.rustfs_identity.IamSnapshot",
}
"""A type's name in bundles written before it moved -> its name now: older bundles still load."""


class BundleError(Exception):
    """A bundle cannot be written or read; the message says why."""


@lru_cache(maxsize=1)
def allowed_types() -> dict[str, type]:
    """`module.Class` -> class, for every dataclass defined in TYPE_MODULES (our own modules, fixed here)."""
    out: dict[str, type] = {}
    for name in TYPE_MODULES:
        module = import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name:
                out[f"{name}.{value.__qualname__}"] = value
    for old, new in MOVED_TYPES.items():
        out[old] = out[new]
    return out


# ---------------------------------------------------------------- encoding

def encode(value: Any, text: Any = None, hook: Any = None) -> Any:
    """A JSON-able form of `value`; `text(str) -> str` rewrites every string and bytes value, and
    `hook(dataclass) -> dataclass` may replace a dataclass before it is written (both: redaction).

    Raises BundleError for a type that has no bundle form."""
    t = text or (lambda s: s)
    return _encode(value, t, hook)


def _encode(value: Any, t: Any, hook: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return t(value)
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        try:
            return {"$b": t(raw.decode("utf-8"))}
        except UnicodeDecodeError:
            decoded = raw.decode("utf-8", "surrogateescape")
            return {"$b64": base64.b64encode(t(decoded).encode("utf-8", "surrogateescape")).decode()}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, list):
        return [_encode(v, t, hook) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(v, t, hook) for v in value]}
    if isinstance(value, (set, frozenset)):
        items = [_encode(v, t, hook) for v in value]
        return {"$set": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {t(k): _encode(v, t, hook) for k, v in value.items()}
        return {"$map": [[_encode(k, t, hook), _encode(v, t, hook)] for k, v in value.items()]}
    if isinstance(value, SourceError):
        return {"$error": {"system": value.system, "title": t(value.title), "message": t(value.message),
                           "kind": value.kind}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hook is not None:
            value = hook(value)
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name not in allowed_types():
            raise BundleError(f"{name} has no bundle form (not one of the allowed result types)")
        return {"$dc": name,
                "fields": {f.name: _encode(getattr(value, f.name), t, hook) for f in dataclasses.fields(value)}}
    raise BundleError(f"{type(value).__module__}.{type(value).__qualname__} has no bundle form")


# ---------------------------------------------------------------- decoding

def decode(value: Any) -> Any:
    """The value `encode` wrote (SourceError instances come back as values, to raise)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 or "$dc" in value:
        tag = next(iter(value)) if "$dc" not in value else "$dc"
        if tag.startswith("$"):
            return _decode_tagged(tag, value)
    return {k: decode(v) for k, v in value.items()}


def _decode_tagged(tag: str, value: dict[str, Any]) -> Any:
    body = value[tag]
    if tag == "$t":
        return tuple(decode(v) for v in body)
    if tag == "$set":
        return frozenset(decode(v) for v in body)
    if tag == "$map":
        return {_hashable(decode(k)): decode(v) for k, v in body}
    if tag == "$b":
        return str(body).encode("utf-8", "surrogateescape")
    if tag == "$b64":
        return base64.b64decode(body)
    if tag == "$dt":
        return datetime.fromisoformat(body)
    if tag == "$date":
        return date.fromisoformat(body)
    if tag == "$td":
        return timedelta(seconds=float(body))
    if tag == "$error":
        return SourceError(str(body.get("system", "")), str(body.get("title", "")), str(body.get("message", "")),
                           kind=str(body.get("kind", "error")))
    if tag == "$dc":
        return _decode_dataclass(str(body), value.get("fields") or {})
    raise BundleError(f"unknown value tag {tag!r} in the bundle")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _decode_dataclass(name: str, fields_: dict[str, Any]) -> Any:
    cls = allowed_types().get(name)
    if cls is None:
        raise BundleError(f"the bundle names type {name!r}, which is not an allowed bundle type; refusing to load it")
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {k: decode(v) for k, v in fields_.items() if k in known}
    init = {k: v for k, v in values.items() if known[k].init}
    try:
        obj = cls(**init)
    except TypeError as exc:
        raise BundleError(f"the bundle's {name} does not fit this clusterdeck: {exc}") from None
    for k, v in values.items():
        if not known[k].init:
            object.__setattr__(obj, k, v)
    return obj


def check_types(value: Any) -> None:
    """Refuse a document that names any type outside `allowed_types()` (checked before anything is decoded)."""
    stack = [value]
    allowed = allowed_types()
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            name = item.get("$dc")
            if name is not None and name not in allowed:
                raise BundleError(f"the bundle names type {name!r}, which is not an allowed bundle type; refusing "
                                  "to load it")
            stack.extend(item.values())


# ---------------------------------------------------------------- the file

def write_bundle(path: str | Path, document: dict[str, Any]) -> None:
    """Write a bundle document as gzip JSON (atomically: a temporary file, then rename)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    data = json.dumps(document, ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode("utf-8")
    try:
        with gzip.open(tmp, "wb", compresslevel=6) as fh:
            fh.write(data)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"cannot write {target}: {exc.strerror or exc}") from None


def read_document(path: str | Path) -> dict[str, Any]:
    """Read and check a bundle file (gzip or plain JSON); migrate an older version; BundleError says why not."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {p}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BundleError(f"{p} is not a readable gzip file: {exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{p} is not a clusterdeck bundle (not JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(f"{p} is not a clusterdeck bundle (no \"format\": \"{FORMAT}\")")
    doc = upgrade(doc, str(p))
    check_types(doc)
    return doc


def upgrade(doc: dict[str, Any], where: str = "the bundle") -> dict[str, Any]:
    """Check the version; run the migrations from an older one; refuse a newer one."""
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{where} has no valid \"version\" (got {version!r}); this clusterdeck reads version "
                          f"{VERSION}")
    if version > VERSION:
        raise BundleError(f"bundle version {version} is newer than this clusterdeck supports ({VERSION}); "
                          "upgrade clusterdeck to replay it")
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise BundleError(f"bundle version {version} is older than any this clusterdeck can read (oldest "
                              f"{min([*MIGRATIONS, VERSION])}); capture it again with this clusterdeck")
        doc = step(doc)
        version = doc["version"]
    return doc
