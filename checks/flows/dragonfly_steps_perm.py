"""Dragonfly flow steps D5–D6: key prefix allowed, commands allowed (ACL DRYRUN, else the offline parser)."""

from __future__ import annotations

from typing import Any

from checks.errors import SourceError
from checks.flows.dragonfly_steps import acl_line, reload_fix
from checks.model import Step
from checks.parsers.acl_categories import DANGEROUS, categories_of
from checks.parsers.acl_rules import command_decision, key_allowed

T5, T6 = "key prefix allowed", "commands allowed"
FILLER = "0"
BULLMQ = ("evalsha", "eval")
"""Commands BullMQ (n8n queue mode, other Node job queues) cannot work without: its queues are Lua scripts."""


def dryrun(st: Any, user: str, words: list[str]) -> tuple[str, str]:
    """(verdict, text): verdict allowed | command | key | unsupported | nouser, from ACL DRYRUN.

    Arguments are padded until the server accepts the arity (it checks arity before permissions).
    """
    text = ""
    for extra in range(4):
        args = [*words, *([FILLER] * extra)]
        try:
            res = st.rs.dryrun(user, *args)
        except SourceError as exc:
            return "unsupported", f"{exc.title}: {exc.message}"
        text = res.message
        if "wrong number of arguments" in text.lower():
            continue
        if not res.user_found:
            return "nouser", text
        if res.allowed is True:
            return "allowed", "OK"
        if res.allowed is False:
            return ("key" if "access the" in text.lower() and "key" in text.lower() else "command"), text
        return "unsupported", text
    return "unsupported", text


def _prefix_of(key: str) -> str:
    head, sep, _ = key.partition(":")
    return head + sep if sep else key


def _user_log(st: Any, reason: str) -> list[Any]:
    snap = st.snapshot
    return [e for e in snap.acl_log if e.username == st.user and e.reason == reason]


def d5_keys(st: Any) -> Step:
    live = st.live_user()
    if not st.user:
        return Step("D5", T5, "skip", None, ("no user to test",))
    if live is None:
        return Step("D5", T5, "skip", None, (f"user {st.user} is not live (see D3)",))
    prefixes: dict[str, str] = {}
    r = st.creds.redis if st.creds is not None else None
    if st.key_prefix:
        prefixes[st.key_prefix] = r.source.get("key_prefix", "the app's config") if r else "the app's config"
    flavor = st.snapshot.flavor
    key_denials = _user_log(st, "key")
    for e in key_denials:
        if flavor != "dragonfly" and e.object:  # Dragonfly logs the command name, not the key
            prefixes.setdefault(_prefix_of(e.object), f"ACL LOG key denial of {e.object} ({e.count}x)")
    if st.error_info.key:
        prefixes.setdefault(_prefix_of(st.error_info.key), "the error text")
    guessed = not prefixes
    if guessed:
        prefixes[f"{st.user}:"] = f"default <user>: (no *_KEY_PREFIX configured{'' if st.app else ', no --app'})"
    ev = [f"user {st.user} may access keys {' '.join(live.key_patterns) or '(none)'}"]
    denied: list[str] = []
    for prefix, origin in list(prefixes.items())[:4]:
        probe = f"{prefix}probe"
        offline = key_allowed(live, probe)
        verdict, text = dryrun(st, st.user, ["SET", probe])
        if verdict == "command":
            verdict, text = dryrun(st, st.user, ["GET", probe])
        if verdict in ("allowed", "key", "command"):
            ok = verdict != "key"
            ev.append(f"prefix {prefix} ({origin}): ACL DRYRUN {st.user} SET {probe} → {text}")
        else:
            ok = offline
            ev.append(f"prefix {prefix} ({origin}): no ACL DRYRUN on this server ({text}); offline parser says "
                      f"{'allowed' if ok else 'no pattern matches'} {probe}")
        if not ok:
            denied.append(prefix)
    if key_denials:
        objs = ", ".join(sorted({e.object for e in key_denials})[:5])
        ev.append(f"ACL LOG: {sum(e.count for e in key_denials)} key denial(s) for {st.user} ({objs})")
    if not denied:
        return Step("D5", T5, "pass", None, tuple(ev))
    pattern = f"~{denied[0]}*"
    ev.insert(0, f"keys with prefix {denied[0]} are outside the key patterns of {st.user}")
    src = st.acl_source.label if st.acl_source is not None and st.acl_source.found else "the ACL source"
    fix = (f"Add {pattern} to user {st.user} in {src}:\n{acl_line(st, st.user, extra_key=pattern)}\n"
           f"then load it:\n{reload_fix(st)}")
    if st.key_prefix and live.key_patterns:
        origin = prefixes[st.key_prefix]
        setting = origin.split()[1] if origin.startswith("env ") else "its key prefix"
        allowed = live.key_patterns[0].split("~", 1)[-1].rstrip("*")
        fix += f"\n# or make the app use an allowed prefix: {setting}={allowed}"
    if guessed:
        ev.insert(0, f"not verified: {st.user} has no configured key prefix, and the default guess {denied[0]} is "
                     f"outside its patterns; the app must use keys under {' '.join(live.key_patterns) or '(none)'}")
        return Step("D5", T5, "pass", None, tuple(ev))
    return Step("D5", T5, "fail", "DF_KEY_PATTERN_DENIED", tuple(ev), fix)


def _uses_bullmq(st: Any) -> bool:
    creds = st.creds
    if creds is None:
        return False
    names = [e.name.upper() for e in creds.env]
    return any(n.startswith("QUEUE_BULL_") or "BULLMQ" in n for n in names)


def _probe_key(live: Any) -> str:
    for pat in live.key_patterns:
        body = pat.split("~", 1)[-1]
        if "*" in body or "?" in body or "[" in body:
            return body.split("*")[0].split("?")[0].split("[")[0] + "probe"
        return body
    return "probe"


def d6_commands(st: Any) -> Step:
    live = st.live_user()
    if not st.user:
        return Step("D6", T6, "skip", None, ("no user to test",))
    if live is None:
        return Step("D6", T6, "skip", None, (f"user {st.user} is not live (see D3)",))
    needed: dict[str, tuple[str, bool]] = {}  # command -> (origin, observed)
    for e in _user_log(st, "command"):
        if e.object:
            needed.setdefault(e.object.lower(), (f"ACL LOG ({e.count}x)", True))
    if st.error_info.command:
        needed.setdefault(st.error_info.command, ("the error text", True))
    if _uses_bullmq(st):
        for cmd in BULLMQ:
            needed.setdefault(cmd, ("BullMQ queue (QUEUE_BULL_* env) runs Lua scripts", False))
    if not needed:
        return Step("D6", T6, "pass", None, (f"no command denials for {st.user} in ACL LOG and no known client "
                                             f"profile; rules: {' '.join(live.commands) or '(none)'}",))
    key = _probe_key(live)
    ev: list[str] = []
    denied: list[tuple[str, bool]] = []
    for cmd, (origin, observed) in needed.items():
        words = cmd.replace("|", " ").split()
        verdict, text = dryrun(st, st.user, [*words, key])
        if verdict in ("allowed", "key", "command"):
            ok = verdict != "command"
            ev.append(f"{cmd} ({origin}): ACL DRYRUN → {text}")
        else:
            decision = command_decision(live, cmd)
            ok = decision.allowed
            ev.append(f"{cmd} ({origin}): no ACL DRYRUN ({text}); offline parser: "
                      f"{'allowed' if ok else 'denied'} by {decision.rule or 'no rule'}"
                      + ("" if decision.certain else " (uncertain)"))
        if not ok:
            denied.append((cmd, observed))
    if not denied:
        return Step("D6", T6, "pass", None, tuple(ev))
    cmds = [c for c, _ in denied]
    cats = {tuple(c for c in categories_of(cmd) if c not in ("@read", "@write", "@dangerous")) for cmd in cmds}
    grant = " ".join(f"+{c}" for c in cmds)
    alt = ""
    if len(cats) == 1 and next(iter(cats)) and not any(c in DANGEROUS for c in cmds):
        alt = f"  (or the category +{next(iter(cats))[0]})"
    risky = [c for c in cmds if c.split("|")[0] in DANGEROUS]
    src = st.acl_source.label if st.acl_source is not None and st.acl_source.found else "the ACL source"
    fix = (f"Grant {grant}{alt} to user {st.user} in {src}:\n{acl_line(st, st.user, extra_cmds=grant)}\n"
           f"then load it:\n{reload_fix(st)}")
    if risky:
        fix += (f"\nWARNING: {', '.join(risky)} {'is' if len(risky) == 1 else 'are'} in @dangerous: grant the single "
                "command only, never the category, and only if the app really needs it")
    observed = any(o for _, o in denied)
    ev.insert(0, f"{st.user} may not run {', '.join(cmds)}")
    return Step("D6", T6, "fail" if observed else "warn", "DF_COMMAND_DENIED", tuple(ev), fix)
