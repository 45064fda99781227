"""ACL users from `ACL LIST` (Redis 7 and Dragonfly) and from an ACL file / ConfigMap.

Pure functions; malformed input becomes a `ParseProblem`, never an exception.
A `>password` token is hashed on the spot: only its SHA-256 is kept, and only a
fingerprint appears in repr and messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from checks.redact import REDACTED, hash_fingerprint, sha256_hex

_HEX = re.compile(r"^[0-9a-fA-F]{15,64}$")
_KEY_TOKEN = re.compile(r"^(?:%(?P<perm>R|W|RW|WR)~|~)(?P<pat>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class ParseProblem:
    """A line or entry a parser could not fully understand."""

    line_no: int
    """1-based line (or entry) number in the input."""
    text: str
    """The offending line, with any plaintext password replaced by a placeholder."""
    message: str
    """What was wrong with it."""


@dataclass(frozen=True)
class AclUser:
    """One ACL user as listed by `ACL LIST` or declared in an ACL file."""

    name: str
    """User name."""
    enabled: bool = False
    """`on` (True) or `off`; users are off unless `on` appears."""
    nopass: bool = False
    """`nopass`: any password (or none) is accepted."""
    password_hashes: tuple[str, ...] = field(default=(), repr=False)
    """Lower-case SHA-256 hex of each password: 64 hex (Redis, ACL file) or the 15-hex prefix Dragonfly lists."""
    key_patterns: tuple[str, ...] = ()
    """Key rules in order: `~pat`, `%R~pat`, `%W~pat`, `%RW~pat` (`allkeys` is stored as `~*`)."""
    channel_patterns: tuple[str, ...] = ()
    """Pub/Sub channel rules: `&pat` (`allchannels` is stored as `&*`)."""
    commands: tuple[str, ...] = ()
    """Command rules in order, lower-cased: `+@cat`, `-@cat`, `+cmd`, `-cmd|sub`, `allcommands`, `nocommands`."""
    db: str | None = None
    """Dragonfly database restriction (`$1`, `$all`); None for Redis, which has none."""
    selectors: tuple[str, ...] = ()
    """Redis 7 selectors `(…)`, verbatim."""
    other: tuple[str, ...] = ()
    """Tokens not understood (e.g. `sanitize-payload`), kept for display."""
    raw: str = field(default="", repr=False)
    """The source line, with plaintext `>password` tokens replaced by a placeholder."""

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Display-safe fingerprints of the password hashes."""
        return tuple(hash_fingerprint(h) for h in self.password_hashes)

    @property
    def has_password(self) -> bool:
        """True when at least one password is set (and `nopass` is not)."""
        return bool(self.password_hashes) and not self.nopass


@dataclass(frozen=True)
class AclListing:
    """Users parsed from `ACL LIST` or an ACL file, plus what could not be parsed."""

    users: tuple[AclUser, ...] = ()
    """Users in input order (a later duplicate replaces the earlier one)."""
    problems: tuple[ParseProblem, ...] = ()
    """Lines that were skipped or partly understood."""

    def get(self, name: str) -> AclUser | None:
        """The user called `name`, or None."""
        for user in self.users:
            if user.name == name:
                return user
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """User names in order."""
        return tuple(u.name for u in self.users)


def _text_lines(source: object) -> list[str]:
    if source is None:
        return []
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if isinstance(source, str):
        return source.splitlines()
    lines: list[str] = []
    try:
        for item in source:  # type: ignore[union-attr]
            if isinstance(item, bytes):
                item = item.decode("utf-8", "replace")
            lines.extend(str(item).splitlines() or [""])
    except TypeError:
        return [str(source)]
    return lines


def _tokens(line: str) -> list[str]:
    """Split on whitespace, keeping a Redis 7 selector `( … )` as one token."""
    if "(" not in line:  # no selector: the common case, split in C
        return line.split()
    out: list[str] = []
    depth_buf: list[str] | None = None
    for tok in line.split():
        if depth_buf is not None:
            depth_buf.append(tok)
            if tok.endswith(")"):
                out.append(" ".join(depth_buf))
                depth_buf = None
        elif tok.startswith("(") and not tok.endswith(")"):
            depth_buf = [tok]
        else:
            out.append(tok)
    if depth_buf:
        out.append(" ".join(depth_buf))
    return out


def _safe_line(tokens: list[str]) -> str:
    return " ".join(f"{t[0]}{REDACTED}" if t[:1] in (">", "<") else t for t in tokens)


def parse_user_tokens(tokens: list[str], raw: str = "") -> tuple[AclUser, list[str]]:
    """Apply ACL rule tokens (after `user`) to a fresh user; returns the user and complaints."""
    name = tokens[0]
    enabled = nopass = False
    hashes: list[str] = []
    keys: list[str] = []
    chans: list[str] = []
    cmds: list[str] = []
    sels: list[str] = []
    other: list[str] = []
    complaints: list[str] = []
    db: str | None = None
    for tok in tokens[1:]:
        first = tok[:1]  # dispatched on its first character: thousands of users, ten tokens each
        if first == "~" or first == "%":
            m = _KEY_TOKEN.match(tok)
            if m is not None:
                perm = (m["perm"] or "").upper()
                keys.append(f"%{'RW' if perm in ('RW', 'WR') else perm}~{m['pat']}" if perm else f"~{m['pat']}")
            else:
                other.append(tok)
        elif (first == "+" or first == "-") and len(tok) > 1:
            cmds.append(tok.lower())
        elif first == "&":
            chans.append(tok)
        elif first == "#" or first == "!":
            if _HEX.match(tok[1:]):
                h = tok[1:].lower()
                if first == "#":
                    nopass = False
                    if h not in hashes:
                        hashes.append(h)
                else:
                    hashes = [x for x in hashes if not h.startswith(x) and not x.startswith(h)]
            else:
                complaints.append(f"'{first}' must be followed by a SHA-256 hex hash")
                other.append(tok)
        elif first == ">":
            h = sha256_hex(tok[1:])
            nopass = False
            if h not in hashes:
                hashes.append(h)
        elif first == "<":
            h = sha256_hex(tok[1:])
            hashes = [x for x in hashes if x != h]
        elif first == "$" and len(tok) > 1:
            db = tok.lower()
        elif first == "(":
            sels.append(tok)
        else:
            low = tok.lower()
            if low == "on" or low == "off":
                enabled = low == "on"
            elif low == "nopass":
                nopass, hashes = True, []
            elif low == "resetpass":
                nopass, hashes = False, []
            elif low == "allkeys":
                keys.append("~*")
            elif low == "resetkeys":
                keys = []
            elif low == "allchannels":
                chans.append("&*")
            elif low == "resetchannels":
                chans = []
            elif low == "allcommands" or low == "nocommands":
                cmds.append(low)
            elif low == "reset":
                enabled = nopass = False
                hashes, keys, chans, cmds, sels, db = [], [], [], [], [], None
            elif low == "clearselectors":
                sels = []
            else:
                other.append(tok)
    user = AclUser(name=name, enabled=enabled, nopass=nopass, password_hashes=tuple(hashes),
                   key_patterns=tuple(keys), channel_patterns=tuple(chans), commands=tuple(cmds),
                   db=db, selectors=tuple(sels), other=tuple(other), raw=raw)
    return user, complaints


_LineResult = tuple[str, "AclUser | None", tuple[str, ...]]
_MEMO: dict[str, _LineResult] = {}
_MEMO_MAX = 100_000
"""Lines remembered (with their users: a few hundred bytes each); the memo is emptied when it is full."""


def _parse_line(stripped: str) -> _LineResult:
    """(safe text, the user or None, complaints) of one non-empty line. Remembered by its text: every
    refresh lists the same thousands of users, mostly unchanged (AclUser is immutable, so sharing is safe).
    A line with a plaintext password (`>…`/`<…`, only in ACL files) is never remembered."""
    hit = _MEMO.get(stripped)
    if hit is not None:
        return hit
    toks = _tokens(stripped)
    plain = ">" not in stripped and "<" not in stripped  # no plaintext password in the line
    safe = " ".join(toks) if plain else _safe_line(toks)
    if toks[0].lower() != "user":
        out: _LineResult = (safe, None, ("not a 'user' line; skipped",))
    elif len(toks) < 2:
        out = (safe, None, ("user line without a user name; skipped",))
    else:
        user, complaints = parse_user_tokens(toks[1:], raw=safe)
        out = (safe, user, tuple(complaints))
    if plain:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[stripped] = out
    return out


def _parse_lines(lines: list[str], *, file_mode: bool) -> AclListing:
    users: dict[str, AclUser] = {}
    problems: list[ParseProblem] = []
    for no, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if file_mode and stripped.startswith("#"):
            continue  # a full-line comment (a `#hash` token never starts a line)
        safe, user, complaints = _parse_line(stripped)
        if user is None:
            problems.append(ParseProblem(no, safe, complaints[0]))
            continue
        for c in complaints:
            problems.append(ParseProblem(no, safe, c))
        if user.name in users:
            problems.append(ParseProblem(no, safe, f"user {user.name!r} declared twice; the later line wins"))
        users[user.name] = user
    return AclListing(tuple(users.values()), tuple(problems))


def parse_acl_list(lines: object) -> AclListing:
    """Parse `ACL LIST` output (a list of lines, or one string) from Redis 7 or Dragonfly."""
    return _parse_lines(_text_lines(lines), file_mode=False)


def parse_acl_file(text: object) -> AclListing:
    """Parse an ACL file / ConfigMap `acl.conf`: `user`/`USER` lines, `#` comment lines skipped."""
    return _parse_lines(_text_lines(text), file_mode=True)


def acl_user_from_getuser(name: str, reply: object) -> AclUser | None:
    """Build an AclUser from a RESP2 `ACL GETUSER` reply (flat list or dict); None for a nil reply."""
    if not reply:
        return None
    if isinstance(reply, dict):
        items = {str(k): v for k, v in reply.items()}
    elif isinstance(reply, (list, tuple)):
        items = {str(reply[i]): reply[i + 1] for i in range(0, len(reply) - 1, 2)}
    else:
        return None

    def words(value: object) -> list[str]:
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            return [w for v in value for w in str(v).split()]
        return str(value).split()

    tokens = [name, *words(items.get("flags"))]
    tokens += ["#" + h for h in words(items.get("passwords"))]
    tokens += words(items.get("keys")) + words(items.get("channels")) + words(items.get("commands"))
    user, _ = parse_user_tokens(tokens, raw=" ".join(t for t in tokens if not t.startswith("#")))
    return user


def password_matches(user: AclUser, plaintext: str | bytes) -> bool:
    """True when `plaintext` is one of the user's passwords (prefix match for Dragonfly's 15 hex).

    A `nopass` user accepts any password.
    """
    if user.nopass:
        return True
    digest = sha256_hex(plaintext)
    return any(digest.startswith(h) for h in user.password_hashes if h)


def hashes_equal(a: Iterable[str], b: Iterable[str]) -> bool:
    """Compare two hash sets where either side may hold 15-hex Dragonfly prefixes."""
    la, lb = [x.lower() for x in a], [x.lower() for x in b]

    def covered(xs: list[str], ys: list[str]) -> bool:
        return all(any(x.startswith(y) or y.startswith(x) for y in ys) for x in xs)

    return covered(la, lb) and covered(lb, la)
