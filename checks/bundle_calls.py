"""How a source call is named in a bundle: (source kind, identity, method or attribute, arguments).

Shared by the recorder (checks.capture) and the player (checks.replay) so both compute the same key.
"""

from __future__ import annotations

import inspect
import json
import re
from functools import lru_cache
from typing import Any

from checks.bundle import encode
from checks.connect_factories import source_class

SECRET_PARAMS = frozenset({"password", "secret_key", "secret"})
"""Arguments that carry a secret: always redacted in a bundle (the call is keyed by the token)."""

NOT_RECORDED = frozenset({"close", "signed_headers"})
"""Methods that are neither recorded nor replayed: local housekeeping (close) or local computation."""

WRITE_METHOD = re.compile(r"^(put|delete|create|patch|update|replace|set|write|apply|alter|grant|revoke|"
                          r"rollout|restart|exec|acl_setuser|acl_deluser|acl_load|acl_save|flush|evict)")
"""Method names that change a system: a replay refuses them ("writes are impossible")."""


@lru_cache(maxsize=256)
def _signature(kind: str, name: str) -> inspect.Signature:
    cls = source_class(kind)
    return inspect.signature(cls if name == "__init__" else getattr(cls, name))


def bind(kind: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call (or of the constructor, name `__init__`) by parameter name, defaults filled."""
    sig = _signature(kind, name)
    if name != "__init__" and next(iter(sig.parameters), "") == "self":
        bound = sig.bind(None, *args, **kwargs)
        bound.apply_defaults()
        return {k: v for k, v in bound.arguments.items() if k != "self"}
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def is_method(kind: str, name: str) -> bool:
    """True for a method of the source class, False for an attribute or property."""
    attr = inspect.getattr_static(source_class(kind), name, None)
    return inspect.isfunction(attr)


def call_key(kind: str, identity: Any, name: str, args: Any) -> str:
    """The canonical text naming one call; `identity` and `args` are already in bundle (encoded) form."""
    return json.dumps([kind, identity, name, args], sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def raw_key(kind: str, identity: dict[str, Any], name: str, args: dict[str, Any] | None) -> str:
    """An in-memory key for a call with real values (never written anywhere)."""
    try:
        return call_key(kind, encode(identity), name, encode(args))
    except Exception:  # noqa: BLE001 - an argument with no bundle form: fall back to repr
        return repr((kind, sorted(identity.items(), key=repr), name, sorted((args or {}).items(), key=repr)))


def system_of(kind: str) -> str:
    """The `system` a source's SourceErrors carry."""
    return str(getattr(source_class(kind), "system", "") or ("kubernetes" if kind == "kube" else kind))
