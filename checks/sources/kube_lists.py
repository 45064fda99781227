"""What KubeSource's lists ask the API server for and keep of its answer: Helm's release records left out of
every Secret list, the lists that count as plain for gets answered from them, the selectors applied again
locally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from checks.sources import kube_parse as kp

T = TypeVar("T")

HELM_RELEASE_TYPE = "helm.sh/release.v1"
"""Secret type of Helm's release records: one Secret per release revision (ten kept per release by default)
holding the whole rendered release, gzipped, often 100 KB or more. Never a credential an app reads."""
HELM_RELEASE_PREFIX = "sh.helm.release.v1."
"""How Helm names its release records: sh.helm.release.v1.<release>.v<revision>."""
NOT_HELM_RELEASES = f"type!={HELM_RELEASE_TYPE}"
"""The field selector of every Secret list: the API server keeps Helm's records instead of sending them on every
refresh (on a cluster with a few dozen releases, most of the bytes of a list of all Secrets)."""
PLAIN_LISTS: dict[str, dict[str, Any]] = {"secrets": {"field_selector": NOT_HELM_RELEASES}}
"""Lists that count as plain (all objects of the resource, for gets answered from them) with these arguments:
a Secret list leaves out only Helm's records, whose names `listed_secret` never looks up in it."""


def parse_items(parse: Callable[[dict[str, Any]], T], label_selector: str | None, field_selector: str | None,
                 doc: dict[str, Any]) -> tuple[T, ...]:
    """The items of a list answer that match its selectors, parsed: an emulator may ignore the selectors the
    request carried."""
    items = [it for it in kp.lst(doc.get("items"))
             if isinstance(it, dict) and kp.field_selector_matches(it, field_selector)]
    return tuple(parse(it) for it in items
                 if kp.selector_string_matches(kp.str_map(kp.d(it.get("metadata")).get("labels")), label_selector))
