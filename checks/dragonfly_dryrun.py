"""DRYRUN typed in the Dragonfly pane: the live server's `ACL DRYRUN`, else the offline parser's verdict."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from checks.dragonfly_view import UserRow
from checks.flows.dragonfly_gather import admin_source
from checks.parsers.acl_rules import command_decision, key_allowed


@dataclass(frozen=True)
class DryRunAnswer:
    """The answer to a DRYRUN typed in the pane."""

    allowed: bool | None
    """True/False, None when it could not be decided."""
    message: str
    """The server's text, or the offline verdict and why."""
    offline: bool
    """True when the offline parser answered (server without ACL DRYRUN)."""


def dryrun_as(conns: Any, row: UserRow, command_line: str) -> DryRunAnswer:
    """`ACL DRYRUN <user> <command line>` on the live server; offline parser verdict when unsupported."""
    try:
        words = shlex.split(command_line)
    except ValueError as exc:
        return DryRunAnswer(None, f"cannot parse the command line: {exc}", False)
    if not words:
        return DryRunAnswer(None, "type a command, e.g. GET mykey", False)
    if row.enabled is None:
        return _offline(row, words, f"user {row.name} is not on the live server (only in the ACL source)")
    rs, _ = admin_source(conns)
    try:
        res = rs.dryrun(row.name, *words)
    finally:
        rs.close()
    if res.supported:
        return DryRunAnswer(res.allowed, res.message, False)
    return _offline(row, words, res.message)


def _offline(row: UserRow, words: list[str], why: str) -> DryRunAnswer:
    if row.acl is None:
        return DryRunAnswer(None, why, True)
    decision = command_decision(row.acl, " ".join(words[:2]) if len(words) > 1 else words[0])
    keys_ok = key_allowed(row.acl, words[1]) if len(words) > 1 else True
    allowed = decision.allowed and keys_ok
    detail = (f"command {'allowed' if decision.allowed else 'denied'} by {decision.rule or 'no rule'}"
              + ("" if decision.certain else " (uncertain)")
              + (f"; key {words[1]} {'matches' if keys_ok else 'matches no'} key pattern" if len(words) > 1 else ""))
    return DryRunAnswer(allowed, f"offline parser ({why}): {detail}", True)
