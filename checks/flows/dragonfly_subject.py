"""Who a Dragonfly error is about, when the engineer did not say: the user from the server's ACL LOG, the app
from the consumers' credentials.

`WRONGPASS invalid username-password pair` names no user, and Redis 7.0's NOPERM texts do not either. The
server logs who it refused: its ACL LOG keeps failed AUTHs (reason `auth`) and denials with the username.
The newest matching entry says which user the error is most likely about. A user is then mapped to the one
workload whose Redis credentials use it (the shared consumer scan), so the app's own password and key
prefix can be checked (D2, D4, D5) as when the app is named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from checks.flows.dragonfly_gather import client_pod

REASONS = {"WRONGPASS": ("auth",), "NOPERM": ("command", "key", "channel")}
"""ACL LOG reasons (as parsed: Dragonfly's AUTH, COMMAND, KEY and PUB_SUB become auth, command, key, channel) that
each error class leaves."""


def user_from_acl_log(entries: Iterable[Any], error_code: str | None,
                      pods: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(the user of the newest ACL LOG entry the error class leaves, a line of evidence saying so), or
    (None, why not) when there is none. Entries from a pod's address (`pods`: IP -> namespace/pod) come first:
    apps run in pods, while clusterdeck's own AUTH probes (D4) and other tools connect from elsewhere."""
    reasons = REASONS.get(error_code or "")
    if not reasons:
        return None, ""
    found = [e for e in entries if e.reason in reasons and e.username]
    if not found:
        return None, (f"the error names no user and the ACL LOG holds no {'/'.join(r.upper() for r in reasons)} "
                      "entry to take one from")
    pods = pods or {}
    newest = min(found, key=lambda e: (not client_pod(e.client_addr, pods),
                                       float("inf") if e.age_seconds is None else e.age_seconds))
    counts: Counter[str] = Counter()
    for e in found:
        counts[e.username] += max(1, e.count)
    age = f" {newest.age_seconds:.0f}s ago" if newest.age_seconds is not None else ""
    pod = client_pod(newest.client_addr, pods)
    origin = f"pod {pod}" if pod else (newest.client_addr or "?")
    others = ", ".join(f"{u} ×{n}" for u, n in counts.most_common() if u != newest.username)
    return newest.username, (f"the error names no user: the newest {newest.reason.upper()} entry of the ACL LOG"
                             f"{' from a pod' if pod else ''} is user {newest.username}{age} (from "
                             f"{origin}; {counts[newest.username]} in the log{'; also ' + others if others else ''}): "
                             f"checking {newest.username}")


def app_for_user(targets: Iterable[Any], user: str) -> tuple[str | None, str]:
    """(the `namespace/name` of the only workload that authenticates to Dragonfly as `user`, a line of evidence),
    or (None, why not) when none or several do."""
    apps = sorted({t.app for t in targets if t.redis == user})
    if len(apps) == 1:
        return apps[0], f"{apps[0]} is the workload that authenticates as {user}: checking its credentials"
    if not apps:
        return None, f"no workload's Redis settings name user {user}: give the app to check its password"
    return None, f"{len(apps)} workloads authenticate as {user} ({', '.join(apps)}): give the app to check one"
