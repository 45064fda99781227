"""`SLOWLOG GET` entries (Redis and Dragonfly), with value redaction for display.

Both servers cap an entry at 32 arguments (`... (N more arguments)`) and each argument
at 128 bytes (`... (N more bytes)`); Dragonfly returns every entry when no count is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MORE_ARGS = re.compile(r"^\.\.\. \((\d+) more arguments\)$")
_MORE_BYTES = re.compile(r"^(.*)\.\.\. \((\d+) more bytes\)$", re.DOTALL)
# redis-py joins the arguments with spaces: keep a truncation marker with its argument
_WORDS = re.compile(r"\S*\.\.\. \(\d+ more (?:bytes|arguments)\)|\S+")

# commands whose first argument is a key and whose other arguments are values
_FIRST_KEY = frozenset((
    "get set setnx setex psetex getset getdel getex append incr incrby incrbyfloat decr decrby strlen "
    "getrange setrange substr expire pexpire expireat pexpireat expiretime persist ttl pttl type dump restore "
    "hset hsetnx hget hmset hmget hgetall hdel hlen hexists hkeys hvals hincrby hincrbyfloat hscan hstrlen "
    "hrandfield lpush rpush lpushx rpushx lpop rpop lrange lindex llen lset lrem ltrim linsert lpos sadd srem "
    "smembers sismember smismember scard spop srandmember sscan zadd zrem zincrby zscore zmscore zrank zrevrank "
    "zcard zcount zlexcount zrange zrangebyscore zrevrange zrevrangebyscore zrangebylex zscan "
    "zremrangebyscore zremrangebyrank zremrangebylex zrandmember xadd xdel xtrim xlen xrange xrevrange "
    "xack xclaim xautoclaim xpending xsetid setbit getbit bitcount bitpos bitfield bitfield_ro geoadd geopos "
    "geodist geohash geosearch georadius georadiusbymember sort sort_ro pfadd").split())
# commands whose arguments are all keys (or harmless numbers / patterns)
_ALL_KEYS = frozenset((
    "del unlink exists touch mget watch sinter sunion sdiff sinterstore sunionstore sdiffstore pfcount pfmerge "
    "rename renamenx copy blpop brpop bzpopmin bzpopmax rpoplpush lmove blmove brpoplpush smove").split())
# commands whose arguments carry no user data worth hiding
_SAFE = frozenset((
    "ping info dbsize slowlog select command keys scan time role flushdb flushall multi exec discard lastsave "
    "save bgsave cluster memory latency wait object readonly readwrite quit echo unwatch").split())
_SUBCOMMAND_FIRST_KEY = frozenset(("xgroup", "xinfo", "object", "memory"))


@dataclass(frozen=True)
class SlowlogEntry:
    """One slow command."""

    id: int
    """Monotonic entry id (per thread on Dragonfly)."""
    time: int
    """Unix time in seconds when it ran."""
    duration_us: int
    """Execution time in microseconds."""
    command: str
    """Command name, upper-cased."""
    args: tuple[str, ...]
    """Arguments after the command as logged (may contain values; see `redacted_args`)."""
    client: str
    """`ip:port` of the client ('' on very old servers)."""
    client_name: str
    """CLIENT SETNAME of the connection, often empty."""
    truncated: bool
    """The server cut arguments (`... (N more arguments)`) or bytes (`... (N more bytes)`)."""

    def redacted_args(self) -> tuple[str, ...]:
        """Command plus key names; every value replaced by `‹redacted N bytes›`."""
        return (self.command, *redact_command_args(self.command, self.args))


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: Any) -> int:
    try:
        return int(float(_s(value)))
    except (TypeError, ValueError, OverflowError):
        return 0


def _redact(arg: str) -> str:
    if _MORE_ARGS.match(arg):
        return arg
    m = _MORE_BYTES.match(arg)
    size = len(m[1].encode("utf-8", "surrogatepass")) + int(m[2]) if m else len(arg.encode("utf-8", "surrogatepass"))
    return f"‹redacted {size} bytes›"


def redact_command_args(command: str, args: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Keep key names and harmless arguments of `command`, redact values."""
    cmd = command.lower()
    args = list(args)
    keep: set[int] = set()
    if cmd in _SAFE:
        keep = set(range(len(args)))
    elif cmd in _FIRST_KEY:
        keep = {0}
    elif cmd in _ALL_KEYS:
        keep = set(range(len(args)))
    elif cmd in ("mset", "msetnx"):
        keep = set(range(0, len(args), 2))
    elif cmd in ("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"):
        keep = {1}
        if cmd.startswith("evalsha") or cmd.startswith("fcall"):
            keep.add(0)
        nkeys = _int(args[1]) if len(args) > 1 else 0
        keep.update(range(2, 2 + max(0, min(nkeys, len(args)))))
    elif cmd in _SUBCOMMAND_FIRST_KEY:
        keep = {0, 1}
    elif cmd in ("config", "client", "function", "script", "pubsub"):
        keep = {0, 1} if cmd == "config" or (args and args[0].lower() != "setname") else {0}
    elif cmd == "acl":
        keep = {0, 1} | {i for i, a in enumerate(args) if i > 1 and a[:1] not in (">", "<", "#", "!")}
        if args and args[0].lower() not in ("setuser", "deluser", "getuser", "dryrun", "log", "list"):
            keep = {0}
    elif cmd in ("publish", "spublish"):
        keep = {0}
    elif cmd in ("subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe"):
        keep = set(range(len(args)))
    return tuple(a if i in keep or _MORE_ARGS.match(a) else _redact(a) for i, a in enumerate(args))


def _entry(raw: Any) -> SlowlogEntry | None:
    if isinstance(raw, Mapping):  # redis-py's slowlog_get(): command joined with spaces
        m = {_s(k): v for k, v in raw.items()}
        words = _WORDS.findall(_s(m.get("command")))
        id_, ts, dur = m.get("id"), m.get("start_time"), m.get("duration")
        client, name = m.get("client_address"), m.get("client_name")
    elif isinstance(raw, (list, tuple)) and len(raw) >= 4:
        cmd_args = raw[3]
        if isinstance(cmd_args, (list, tuple)):
            words = [_s(a) for a in cmd_args]
        else:
            words = _WORDS.findall(_s(cmd_args))
        id_, ts, dur = raw[0], raw[1], raw[2]
        client = raw[4] if len(raw) > 4 else ""
        name = raw[5] if len(raw) > 5 else ""
    else:
        return None
    words = words or [""]
    args = tuple(words[1:])
    truncated = any(_MORE_ARGS.match(a) or _MORE_BYTES.match(a) for a in args)
    return SlowlogEntry(id=_int(id_), time=_int(ts), duration_us=_int(dur), command=words[0].upper(),
                        args=args, client=_s(client), client_name=_s(name), truncated=truncated)


def parse_slowlog(entries: Any) -> tuple[SlowlogEntry, ...]:
    """Raw `SLOWLOG GET` reply (list of 4–6 element lists) or redis-py's parsed dicts."""
    if entries is None or isinstance(entries, (str, bytes, Mapping)):
        return ()
    out = []
    try:
        for raw in entries:
            e = _entry(raw)
            if e is not None:
                out.append(e)
    except TypeError:
        return ()
    return tuple(out)
