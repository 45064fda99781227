"""Secrets out of a capture bundle: find them in what the sources answered, and replace each by a token.

A token keeps what the checks look at and nothing else: the same length, the same leading/trailing
whitespace (a trailing newline is a finding), equal values get equal tokens, different values different
ones. Its characters come from the Unicode private-use area (U+E000…), which no real credential holds,
and it is a counter, not derived from the value. Digests the checks take of secrets (fingerprints,
`#<sha256>` ACL matching, Reloader's SHA1) are stored next to the tokens, keyed by the digest of the
redacted input (checks.redact.digest serves them on replay). See docs/bundle-format.md, "Secrets".
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

PUA, PUA_SIZE = 0xE000, 6400
STRONG_MIN, WEAK_MIN = 4, 8
"""A secret is replaced inside longer texts too when at least this long (strong: named as a secret; weak: an
unclassified Secret value); shorter ones only where a whole value equals them."""

SECRET_WORDS = re.compile(r"(?i)(^|[_.-])(pass(word|wd)?|pwd|secret|token|credentials?|requirepass|masterauth)([_.-]|$)|"
                          r"(api|master|private|secret|signing|encryption|cert|tls)[_.-]?key([_.-]|$)|[_.-]auth$|"
                          r"[a-z0-9](Password|Secret|Token)")
"""A name (Secret key, env var, flag) saying its value is a secret."""
PLAIN_KEY = re.compile(
    r"(?i)^(pg(host|port|user|database|sslmode)|(.*[_.-])?(user|username|user_?name|login|host|hostname|port|database|"
    r"dbname|db|db_?name|bucket|bucket_?name|region|endpoint|endpoint_?url|namespace|sslmode|schema|access_?key_?id|"
    r"access_?key|key_?id|ca\.crt|tls\.crt|ca_?crt|tls_?crt|url_?host|url_?port))$")
SECRET_FIELD = re.compile(r"(?i:(?:^|[_.-])(?:pass(?:word|wd)?|pwd|secret|token|api_?key|secret_?key|private_?key|"
                          r"credentials?))$|[a-z0-9](?:Password|Passwd|Secret|Token|ApiKey|SecretKey|PrivateKey|Credentials?)$")
"""A field of a structured answer (JSON object) holding a secret: the name ends like one."""
NOT_SECRET_NAME = re.compile(r"(?i)^stakater_|(name|ref|file|path|dir|keyref|version|type|mode|enabled|length|len|"
                             r"policy|hash|sha|checksum|_id)$")
_URL_PW = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:(?P<pw>[^@\s/]+)@")
_KV = re.compile(r"""(?P<key>[A-Za-z][\w.-]*)(?:\s*[=:]\s*|["']\s*:\s*["'])(?P<val>[^\s,;&"'{}\[\]]+)""")
_ACL_PW = re.compile(r"(?:^|\s)[><](?P<pw>\S+)")
_FLAG = re.compile(r"^--?(?P<name>[\w.-]+)$")


def _first_sep(text: str, start: int = 0) -> int:
    hits = [i for i in (text.find(c, start) for c in "/?#") if i >= 0]
    return min(hits) if hits else len(text)


def url_password(text: str) -> str | None:
    """The password of a connection URL exactly as written (percent-encoded), like appcreds' parse_url."""
    head, sep, rest = text.strip().partition("://")
    if not sep or not head or any(c.isspace() for c in head):
        return None
    end, last_at = _first_sep(rest), rest.rfind("@")
    if last_at >= end and not set(rest[end:last_at]) & {"?", "#"}:
        end = _first_sep(rest, last_at + 1)
    userinfo, at, _ = rest[:end].rpartition("@")
    if not at:
        return None
    _, colon, pw = userinfo.partition(":")
    return pw if colon and pw else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else None


class SecretBook:
    """The secrets of one capture and their tokens. Learn first (thread-safe), then `rewrite`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        """real core (stripped) -> token core."""
        self._strong: set[str] = set()
        self._aliases: dict[str, str] = {}
        """another spelling of a secret (percent-encoded in a URL) -> the core it stands for."""
        self._full: set[str] = set()
        """whole values seen (with their whitespace), for exact replacement and fingerprints."""
        self._pattern: re.Pattern[str] | None = None
        self._all_pattern: re.Pattern[str] | None = None

    # ------------------------------------------------------------------ learning
    def learn(self, value: str | bytes | None, *, strong: bool = True) -> None:
        """A whole value is a secret."""
        text = _text(value)
        core = text.strip() if text else ""
        if not core:
            return
        with self._lock:
            if core not in self._tokens:
                n = len(self._tokens) + 1
                digits = []
                while n:
                    n, d = divmod(n, PUA_SIZE)
                    digits.append(chr(PUA + d))
                token = "".join(digits).ljust(len(core), chr(PUA))
                if len(token) > len(core):  # a 1-char secret after 6400 others: keep unique, not same length
                    token = "".join(digits)
                self._tokens[core] = token
            if strong:
                self._strong.add(core)
            self._full.add(text)
            self._pattern = self._all_pattern = None

    def learn_url(self, text: str) -> None:
        """The password inside a URL (decoded, as the checks see it; the written spelling is an alias)."""
        raw = url_password(text)
        if raw:
            decoded = unquote(raw)
            self.learn(decoded)
            if raw != decoded:
                with self._lock:
                    self._aliases[raw] = decoded.strip()

    def learn_from_text(self, text: str) -> None:
        """Secrets embedded in free text: URL passwords, `password=…`-style pairs, ACL `>password` tokens."""
        if "://" in text:
            for m in _URL_PW.finditer(text):
                self.learn_url(m.group(0))
        if any(c in text for c in "=:"):
            for m in _KV.finditer(text):
                key = m["key"]
                if (SECRET_FIELD.search(key) or key.lower() in ("requirepass", "masterauth")) and len(m["val"]) >= 6:
                    self.learn(m["val"])
        if "user " in text and (">" in text or "<" in text):
            for line in text.splitlines():
                if line.lstrip().lower().startswith("user "):
                    for m in _ACL_PW.finditer(line):
                        self.learn(m["pw"])

    def learn_keyed(self, key: str, value: str | bytes | None) -> None:
        """A value stored under a name (Secret key, env var, parameter): classified by the name and shape."""
        text = _text(value)
        if not text or not text.strip():
            return
        core = text.strip()
        if "://" in core and "\n" not in core and " " not in core:  # a URL: only its password is secret
            self.learn_url(core)
            return
        named = bool(SECRET_WORDS.search(key)) and not NOT_SECRET_NAME.search(key)
        if PLAIN_KEY.match(key) and not named:
            return
        if "\n" in core and "PRIVATE KEY" not in core:
            self.learn_from_text(text)  # an embedded file: only its secrets
            return
        if core.lower() in ("true", "false", "yes", "no", "on", "off"):
            return
        self.learn(text, strong=named)

    def learn_env(self, name: str, value: str | None) -> None:
        """A literal env value: secret when its name says so (never Reloader's STAKATER_* hashes)."""
        if not value:
            return
        if NOT_SECRET_NAME.search(name) or PLAIN_KEY.match(name):
            if "://" in value:
                self.learn_url(value)
            return
        if SECRET_WORDS.search(name):
            self.learn_keyed(name, value)
        else:
            self.learn_from_text(value)

    def learn_args(self, args: Iterable[str]) -> None:
        """Container args: `--password=x` pairs (via the text scan) and `--password x`."""
        items = [a for a in args if isinstance(a, str)]
        for i, arg in enumerate(items):
            m = _FLAG.match(arg)
            if m and SECRET_WORDS.search(m["name"]) and not NOT_SECRET_NAME.search(m["name"]) and i + 1 < len(items):
                if not items[i + 1].startswith("-"):
                    self.learn(items[i + 1])

    def scan(self, value: Any, seen: set[int] | None = None) -> None:
        """Learn every secret in a source's answer: typed rules for Secrets, ConfigMaps, env and args,
        and the free-text scan on every other string."""
        seen = set() if seen is None else seen
        if isinstance(value, (str, bytes)):
            text = _text(value)
            if text:
                self.learn_from_text(text)
            return
        if id(value) in seen or value is None or isinstance(value, (bool, int, float)):
            return
        seen.add(id(value))
        name = type(value).__name__
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if name == "KubeSecret":
                for k, v in value.data.items():
                    self.learn_keyed(k, v)
            elif name == "EnvVar":
                self.learn_env(value.name, value.value)
            elif name == "ContainerSpec":
                self.learn_args((*value.command, *value.args))
            for f in dataclasses.fields(value):
                self.scan(getattr(value, f.name), seen)
        elif isinstance(value, dict):
            for k, v in value.items():
                self.scan(k, seen)
                if isinstance(k, str) and isinstance(v, str) and SECRET_FIELD.search(k) \
                        and not v.startswith("<hidden "):  # KubeSource shows Secret data as fingerprints
                    self.learn_keyed(k, v)
                self.scan(v, seen)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for v in value:
                self.scan(v, seen)

    # ------------------------------------------------------------------ replacing
    def token_for(self, text: str) -> str | None:
        """The token of a whole learned value (whitespace kept), None when `text` is no secret."""
        core = text.strip()
        token = self._tokens.get(core) or (self._tokens.get(self._aliases[core]) if core in self._aliases else None)
        if token is None:
            return None
        start = text.index(core)
        return text[:start] + token + text[start + len(core):]

    def redact_object(self, value: Any) -> Any:
        """A Secret with every learned value replaced by its token (whatever its length or key), else `value`."""
        if type(value).__name__ != "KubeSecret":
            return value
        data = {}
        for k, v in value.data.items():
            text = v.decode("utf-8", "surrogateescape")
            token = self.token_for(text) if text.strip() in self._tokens else None
            data[k] = (token if token is not None else self.rewrite(text)).encode("utf-8", "surrogateescape")
        return dataclasses.replace(value, data=data)

    def _compiled(self, everything: bool) -> re.Pattern[str] | None:
        with self._lock:
            pattern = self._all_pattern if everything else self._pattern
            if pattern is None:
                keys = [c for c in self._tokens if everything or len(c) >= (STRONG_MIN if c in self._strong else WEAK_MIN)]
                keys += [a for a, c in self._aliases.items() if everything or c in self._tokens]
                variants = set(keys)
                variants |= {base64.b64encode(v.encode("utf-8", "surrogateescape")).decode()
                             for v in (*keys, *(f for f in self._full if f.strip() in keys)) if len(v) >= STRONG_MIN}
                if not variants:
                    return None
                pattern = re.compile("|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True)))
                if everything:
                    self._all_pattern = pattern
                else:
                    self._pattern = pattern
            return pattern

    def _replacement(self, found: str) -> str:
        token = self.token_for(found)
        if token is not None:
            return token
        for value in (*self._tokens, *self._aliases, *self._full):  # a base64 spelling
            if base64.b64encode(value.encode("utf-8", "surrogateescape")).decode() == found:
                return base64.b64encode((self.token_for(value) or "").encode("utf-8", "surrogateescape")).decode()
        return "\u2039redacted\u203a"

    def rewrite(self, text: str, *, everything: bool = False) -> str:
        """`text` with every learned secret (and its base64) replaced by its token."""
        if not self._tokens:
            return text
        core = text.strip()
        if core in self._strong or self._aliases.get(core) in self._strong:
            return self.token_for(text) or text
        pattern = self._compiled(everything)
        return pattern.sub(lambda m: self._replacement(m.group(0)), text) if pattern is not None else text

    def digests(self, observed: Iterable[tuple[str, bytes, str]]) -> dict[str, dict[str, str]]:
        """{algorithm: {sha256 hex of the redacted input: digest of the real input}} for every learned
        secret (its fingerprint) and every observed digest of an input that held one."""
        out: dict[str, dict[str, str]] = {}

        def add(algorithm: str, real: bytes, redacted: bytes, value: str) -> None:
            if redacted != real:
                out.setdefault(algorithm, {})[hashlib.sha256(redacted).hexdigest()] = value

        for text in {*self._full, *self._tokens}:  # hashed as checks.redact does a str: UTF-8, surrogatepass
            real = text.encode("utf-8", "surrogatepass")
            add("sha256", real, self.rewrite(text).encode("utf-8", "surrogatepass"), hashlib.sha256(real).hexdigest())
        for algorithm, data, value in observed:
            text = data.decode("utf-8", "surrogateescape")
            add(algorithm, data, self.rewrite(text, everything=True).encode("utf-8", "surrogateescape"), value)
        return out

    @property
    def count(self) -> int:
        """How many distinct secrets were learned."""
        return len(self._tokens)
