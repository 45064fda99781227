"""Evaluate parsed ACL rules offline: key globs, channels, commands, and source-vs-live drift.

`command_allowed` is best effort: it uses a category table for common commands.
The authoritative answer is the live server's `ACL DRYRUN <user> <cmd…>`; use this
only when DRYRUN is unavailable or to explain which rule decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from checks.parsers.acl import AclListing, AclUser, hashes_equal
from checks.parsers.acl_categories import ALL_KNOWN, CATEGORIES, DANGEROUS


_STAR = None
"""A `*` among the glob tokens; every other token is a one-character regex."""


@lru_cache(maxsize=1024)
def _char(expr: str) -> re.Pattern[str]:
    return re.compile(expr, re.DOTALL)


@lru_cache(maxsize=512)
def _glob_tokens(pattern: str) -> tuple[re.Pattern[str] | None, ...]:
    """Tokens of a Redis `stringmatchlen` glob (`*`, `?`, `[a-z]`, `[^x]`, `\\x`): None for `*`, else a
    regex matching exactly one character."""
    out: list[re.Pattern[str] | None] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if not out or out[-1] is not _STAR:  # `**` is `*`
                out.append(_STAR)
        elif c == "?":
            out.append(_char("."))
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(_char(re.escape(pattern[i])))
        elif c == "[":
            j = i + 1
            neg = j < n and pattern[j] == "^"
            if neg:
                j += 1
            body: list[str] = []
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\" and j + 1 < n:
                    j += 1
                    body.append(re.escape(pattern[j]))
                elif j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    lo, hi = sorted((pattern[j], pattern[j + 2]))
                    body.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 2
                else:
                    body.append(re.escape(pattern[j]))
                j += 1
            if not body:
                out.append(_char("(?!)" if not neg else "."))
            else:
                out.append(_char(("[^" if neg else "[") + "".join(body) + "]"))
            i = j  # at ']' (or end)
        else:
            out.append(_char(re.escape(c)))
        i += 1
    return tuple(out)


def glob_match(pattern: str, text: str) -> bool:
    """Redis-style glob match of the whole `text` (case-sensitive, like Redis keys).

    Greedy matching that backs up only to the last `*`: O(len(text) × len(pattern)) at worst, where a
    backtracking regex is exponential in the number of `*` (an ACL pattern `~*a*a*a*…` is hostile input).
    """
    try:
        tokens = _glob_tokens(pattern)
    except re.error:
        return False
    ti = pi = 0
    star, mark = -1, 0
    nt, np_ = len(text), len(tokens)
    while ti < nt:
        if pi < np_ and tokens[pi] is not _STAR and tokens[pi].fullmatch(text[ti]):  # type: ignore[union-attr]
            ti += 1
            pi += 1
        elif pi < np_ and tokens[pi] is _STAR:
            star, mark = pi, ti
            pi += 1
        elif star >= 0:
            pi = star + 1
            mark += 1
            ti = mark
        else:
            return False
    while pi < np_ and tokens[pi] is _STAR:
        pi += 1
    return pi == np_


def _key_rules(user: AclUser) -> list[tuple[str, str]]:
    rules = []
    for tok in user.key_patterns:
        if tok.startswith("%"):
            perm, _, pat = tok[1:].partition("~")
            rules.append((perm.upper(), pat))
        else:
            rules.append(("RW", tok[1:]))
    return rules


def key_allowed(user: AclUser, key: str, access: str = "any") -> bool:
    """May `user` touch `key`? access: `any` (some pattern matches), `read`, `write` or `rw`."""
    rules = [(perm, pat) for perm, pat in _key_rules(user) if glob_match(pat, key)]
    can_read = any("R" in perm for perm, _ in rules)
    can_write = any("W" in perm for perm, _ in rules)
    if access == "read":
        return can_read
    if access == "write":
        return can_write
    if access == "rw":
        return can_read and can_write
    return bool(rules)


def channel_allowed(user: AclUser, channel: str) -> bool:
    """May `user` publish/subscribe to `channel`?"""
    return any(glob_match(tok[1:], channel) for tok in user.channel_patterns)


@dataclass(frozen=True)
class CommandDecision:
    """Offline verdict on one command for one user."""

    allowed: bool
    """The best-effort verdict."""
    rule: str | None
    """The last rule that decided it (`+@read`, `-flushall`, …), None when no rule matched."""
    certain: bool
    """False when a category not in the table (or a command unknown to it) may change the answer."""
    dangerous: bool
    """The command belongs to @dangerous."""


def _split_command(cmd: str) -> tuple[str, str]:
    parts = cmd.strip().lower().replace("|", " ").split()
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def command_decision(user: AclUser, cmd: str) -> CommandDecision:
    """Replay the user's command rules in order for `cmd` (`get`, `config|get` or `CONFIG GET`)."""
    base, sub = _split_command(cmd)
    full = f"{base}|{sub}" if sub else base
    entry = full if full in ALL_KNOWN else base  # subcommands carry their own categories
    known = entry in ALL_KNOWN
    allowed, decided_by, certain = False, None, True
    for rule in user.commands:
        if rule in ("allcommands", "+@all"):
            allowed, decided_by = True, rule
            continue
        if rule in ("nocommands", "-@all"):
            allowed, decided_by = False, rule
            continue
        sign, body = rule[:1], rule[1:]
        if sign not in "+-" or not body:
            continue
        if body.startswith("@"):
            members = CATEGORIES.get(body[1:])
            if members is None or not known:
                certain = False
                continue
            match = entry in members
        else:
            rbase, _, rsub = body.partition("|")
            match = rbase == base and (not rsub or rsub == sub)
        if match:
            allowed, decided_by = sign == "+", rule
    return CommandDecision(allowed, decided_by, certain, entry in DANGEROUS or base in DANGEROUS)


def command_allowed(user: AclUser, cmd: str) -> bool:
    """Best-effort: would `user` be allowed to run `cmd`? (Live `ACL DRYRUN` is authoritative.)"""
    return command_decision(user, cmd).allowed


# ---------------------------------------------------------------- drift

def _norm_keys(user: AclUser) -> frozenset[str]:
    return frozenset(("~" + pat) if perm == "RW" else f"%{perm}~{pat}" for perm, pat in _key_rules(user))


def _norm_commands(user: AclUser) -> tuple[str, ...]:
    rules = ["+@all" if r == "allcommands" else "-@all" if r == "nocommands" else r for r in user.commands]
    while rules and rules[0] == "-@all":
        rules.pop(0)  # users start with no commands: a leading -@all changes nothing
    return tuple(rules)


def _known_by_base() -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for entry in ALL_KNOWN:
        base, sub = _split_command(entry)
        out.setdefault(base, []).append((entry, sub))
    return {base: tuple(entries) for base, entries in out.items()}


_KNOWN_BY_BASE = _known_by_base()
"""Command name → the known entries (`config`, `config|get`, …) with that name, and each one's subcommand."""


@lru_cache(maxsize=4096)
def allowed_commands(rules: tuple[str, ...]) -> frozenset[str]:
    """The known commands (`ALL_KNOWN`) that these command rules allow: `command_decision(…).allowed` for each,
    worked out by set algebra over the rules once per distinct rule list (users share rule lists, and
    this is what judging drift at 10,000 users costs)."""
    allowed: set[str] = set()
    for rule in rules:
        if rule in ("allcommands", "+@all"):
            allowed = set(ALL_KNOWN)
            continue
        if rule in ("nocommands", "-@all"):
            allowed.clear()
            continue
        sign, body = rule[:1], rule[1:]
        if sign not in "+-" or not body:
            continue
        if body.startswith("@"):
            members: Iterable[str] = CATEGORIES.get(body[1:], ())  # an unknown category decides nothing known
        else:
            rbase, _, rsub = body.partition("|")
            members = [entry for entry, sub in _KNOWN_BY_BASE.get(rbase, ()) if not rsub or rsub == sub]
        if sign == "+":
            allowed.update(members)
        else:
            allowed.difference_update(members)
    return frozenset(allowed)


def commands_equivalent(a: AclUser, b: AclUser) -> bool:
    """Same command rules, literally or in effect over every known command.

    Redis 7.0 rewrites `+@read +@write -@dangerous` into an expanded list of categories and
    commands in ACL LIST; Dragonfly and Redis 7.2+ keep what was written.
    """
    if _norm_commands(a) == _norm_commands(b):
        return True
    return allowed_commands(tuple(a.commands)) == allowed_commands(tuple(b.commands))


def command_differences(src: AclUser, live: AclUser) -> tuple[str, ...]:
    """Known commands that one side allows and the other denies, sorted.

    Redis 7 lists categories expanded (`-@all +@string +@hash … -keys`), so textual comparison
    always differs; comparing decisions tells real drift from a different spelling.
    """
    return tuple(sorted(allowed_commands(tuple(src.commands)) ^ allowed_commands(tuple(live.commands))))


@dataclass(frozen=True)
class AclUserDiff:
    """How one user differs between the ACL source and the live server."""

    name: str
    """User name."""
    fields: tuple[str, ...]
    """Which aspects differ: enabled, password, keys, commands, db."""
    details: tuple[str, ...]
    """One human line per difference; passwords appear only as fingerprints."""


@dataclass(frozen=True)
class AclDiff:
    """Drift between the ACL source (file/ConfigMap/Secret) and live `ACL LIST`."""

    missing: tuple[str, ...] = ()
    """Users in the source but not live (the file was not loaded?)."""
    extra: tuple[str, ...] = ()
    """Users live but not in the source (created by hand with ACL SETUSER?)."""
    different: tuple[AclUserDiff, ...] = ()
    """Users present on both sides whose definition differs."""

    @property
    def clean(self) -> bool:
        """No drift at all."""
        return not (self.missing or self.extra or self.different)


def _users(x: AclListing | Iterable[AclUser]) -> dict[str, AclUser]:
    items = x.users if isinstance(x, AclListing) else tuple(x)
    return {u.name: u for u in items}


def _fp(user: AclUser) -> str:
    return "nopass" if user.nopass else (", ".join(user.fingerprints) or "no password")


def diff_user(src: AclUser, live: AclUser) -> AclUserDiff | None:
    """Compare one user's source and live definitions; None when equivalent."""
    fields, details = [], []
    if src.enabled != live.enabled:
        fields.append("enabled")
        details.append(f"source says {'on' if src.enabled else 'off'}, live is {'on' if live.enabled else 'off'}")
    if src.nopass != live.nopass or not hashes_equal(src.password_hashes, live.password_hashes):
        fields.append("password")
        details.append(f"password differs: source {_fp(src)}, live {_fp(live)}")
    if _norm_keys(src) != _norm_keys(live):
        fields.append("keys")
        details.append(f"keys: source {' '.join(src.key_patterns) or '(none)'}, "
                       f"live {' '.join(live.key_patterns) or '(none)'}")
    if not commands_equivalent(src, live):
        fields.append("commands")
        details.append(f"commands: source {' '.join(src.commands) or '(none)'}, "
                       f"live {' '.join(live.commands) or '(none)'}")
    if src.db is not None and live.db is not None and src.db != live.db:
        fields.append("db")
        details.append(f"db: source {src.db}, live {live.db}")
    return AclUserDiff(src.name, tuple(fields), tuple(details)) if fields else None


def diff_acl(source: AclListing | Iterable[AclUser], live: AclListing | Iterable[AclUser]) -> AclDiff:
    """Missing, extra and different users between the ACL source and the live server."""
    s, lv = _users(source), _users(live)
    missing = tuple(n for n in s if n not in lv)
    extra = tuple(n for n in lv if n not in s)
    different = tuple(d for n in s if n in lv and (d := diff_user(s[n], lv[n])) is not None)
    return AclDiff(missing, extra, different)
