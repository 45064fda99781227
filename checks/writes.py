"""The write path: every change clusterdeck makes to a system goes through a `WriteGate`.

A write is described first (`WriteIntent`: which system, which call, on what, exactly; secrets masked),
then the gate refuses it (writes not allowed, or the kube context locked by `contexts.<name>.read_only`),
asks the caller's `confirm` (the CLI prompts or was given `--yes`; the TUI shows the ConfirmWrite dialog),
runs it, and appends one JSON line per executed write to the audit log (who, when, context, what, result).

The gate comes from the caller (CLI or TUI); flows take `allow_writes: bool | WriteGate` and turn a bare
bool into a gate with `gate_for` (True = confirmed in advance, as the CLI's `--yes`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from checks.redact import redact

T = TypeVar("T")

SYSTEM_LABELS = {"s3": "S3", "kubernetes": "kubernetes", "redis": "Redis", "postgres": "PostgreSQL"}
READ_ONLY_REASON = "read-only mode: rerun with --allow-writes (each write is confirmed and audited)"


@dataclass(frozen=True)
class WriteIntent:
    """One write, named exactly before it happens (what the confirmation shows and the audit log records)."""

    system: str
    """s3, kubernetes, redis or postgres."""
    action: str
    """The call, as the system spells it: `PutObject`, `DeleteObject`, `create pod`, `delete pod`."""
    target: str
    """What it changes: `s3://litellm/.clusterdeck-probe/<id>`, `automation/clusterdeck-canary-<id>`."""
    detail: tuple[str, ...] = ()
    """Further lines for the confirmation (body, image, command, what follows); never a secret."""

    @property
    def summary(self) -> str:
        """One line: `S3 PutObject s3://litellm/…`, `kubernetes create pod automation/…`."""
        return f"{SYSTEM_LABELS.get(self.system, self.system)} {self.action} {self.target}"

    def lines(self) -> list[str]:
        """The summary, then the detail lines (indented)."""
        return [self.summary, *(f"  {d}" for d in self.detail)]


class WriteRefused(Exception):
    """Writes are not allowed here (read-only mode, a locked context, no audit log); the text says why."""


class WriteDeclined(Exception):
    """The user said no to this write."""


def current_actor() -> str:
    """The OS user running clusterdeck (the audit log's `who`)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry / no LOGNAME: fall back to the uid
        return f"uid {os.getuid()}"


def default_audit_path(config: Any = None) -> Path:
    """`audit_log` from the config, else `$XDG_STATE_HOME/clusterdeck/audit.log`."""
    from checks.config import state_dir

    configured = getattr(config, "audit_log", "") if config is not None else ""
    return Path(os.path.expanduser(configured)) if configured else state_dir() / "audit.log"


def locked_reason(config: Any, context: str) -> str:
    """Why writes are forbidden in `context` by the config ('' when they are not)."""
    if not context or not config.context_read_only(context):
        return ""
    where = f" in {config.source_path}" if getattr(config, "source_path", "") else ""
    return (f"kube context {context} is locked read-only by the config key contexts.{context}.read_only{where}: "
            "writes are refused whatever the command line says")


_audit_lock = threading.Lock()
_epoch_lock = threading.Lock()
_write_epoch = 0


def write_epoch() -> int:
    """How many writes this process has run through a WriteGate (caches of reads compare it: a write
    may change what they hold)."""
    return _write_epoch


def _count_write() -> None:
    global _write_epoch
    with _epoch_lock:
        _write_epoch += 1


class WriteGate:
    """Refuses, confirms, runs and audits writes. Thread-safe (the access matrix writes from a pool)."""

    def __init__(self, allowed: bool, confirm: Callable[[WriteIntent], bool] | None = None,
                 audit_path: str | os.PathLike[str] | None = None, context: str = "", actor: str | None = None,
                 *, reason: str = "", secrets: Iterable[str | bytes | None] = ()) -> None:
        self.allowed = bool(allowed)
        """Writes may happen at all (after confirmation)."""
        self.reason = reason or ("" if allowed else READ_ONLY_REASON)
        """Why writes are refused (shown in skipped steps)."""
        self.context = context
        """The kube context the writes go to (recorded in the audit log)."""
        self.actor = actor or current_actor()
        """Who (recorded in the audit log)."""
        self.audit_path = Path(audit_path) if audit_path else None
        self._confirm = confirm
        self._secrets = [s for s in secrets if s]

    @classmethod
    def disabled(cls, reason: str = READ_ONLY_REASON) -> WriteGate:
        """A gate that refuses every write with `reason`."""
        return cls(False, reason=reason)

    def __repr__(self) -> str:
        return f"WriteGate(allowed={self.allowed}, context={self.context!r}, audit={str(self.audit_path)!r})"

    # -- the steps of a write ------------------------------------------------------------------------

    def check(self) -> None:
        """Raise WriteRefused unless writes are allowed and auditable."""
        if not self.allowed:
            raise WriteRefused(self.reason)
        if self.audit_path is None:
            raise WriteRefused("no audit log configured: writes are refused (set `audit_log` in the config)")

    def approve(self, intent: WriteIntent) -> None:
        """Refuse or ask; raise WriteRefused / WriteDeclined, return when the user said yes.

        Also used to ask once for a batch (one intent that names every target), whose single writes then
        run with `run(..., approved=True)` and are audited one by one."""
        self.check()
        if self._confirm is None or not self._confirm(intent):
            raise WriteDeclined(f"declined: {intent.summary}")

    def run(self, intent: WriteIntent, fn: Callable[[], T], *, approved: bool = False,
            judge: Callable[[Any], str | None] | None = None) -> T:
        """Confirm (unless `approved`: the cleanup of a confirmed write, or part of an approved batch),
        run `fn`, audit the outcome, return `fn`'s result (its exception propagates, audited as error).

        `judge(result)` gives an error message for a result that reports failure without raising
        (default: a result with `.ok` false is an error named by its `.code`)."""
        if approved:
            self.check()
        else:
            self.approve(intent)
        assert self.audit_path is not None
        fd = self._open_audit()  # before the write: a write that cannot be audited does not happen
        try:
            try:
                result = fn()
            except Exception as exc:
                _count_write()
                self._audit(fd, intent, "error", f"{type(exc).__name__}: {exc}")
                raise
            _count_write()
            problem = (judge or _default_judge)(result)
            self._audit(fd, intent, "error" if problem else "ok", problem or "")
            return result
        finally:
            os.close(fd)

    # -- the audit log ---------------------------------------------------------------------------------

    def _open_audit(self) -> int:
        assert self.audit_path is not None
        try:
            self.audit_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise WriteRefused(f"cannot open the audit log {self.audit_path}: {exc.strerror}; the write was not "
                               "made") from None

    def _audit(self, fd: int, intent: WriteIntent, result: str, message: str) -> None:
        entry = {
            "who": self.actor,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "context": self.context,
            "system": intent.system,
            "action": intent.action,
            "target": intent.target,
            "result": result,
            "message": redact(message, self._secrets)[:500],
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with _audit_lock:
            os.write(fd, line)  # one write(2) of one line on an O_APPEND descriptor


def _default_judge(result: Any) -> str | None:
    ok = getattr(result, "ok", None)
    if ok is False:
        code = getattr(result, "code", None) or getattr(result, "message", None) or "failed"
        return str(code)
    return None


def gate_for(conns: Any, allow_writes: bool | WriteGate) -> WriteGate:
    """The gate a flow uses: the caller's, or one made from a bool (True = writes confirmed in advance,
    as `--yes` does; still refused in a locked context and still audited)."""
    if isinstance(allow_writes, WriteGate):
        return allow_writes
    if not allow_writes:
        return WriteGate.disabled()
    if impossible := writes_impossible(conns):
        return WriteGate.disabled(impossible)
    config = conns.config
    context = kube_context_of(conns)
    locked = locked_reason(config, context)
    if locked:
        return WriteGate.disabled(locked)
    return WriteGate(True, lambda _intent: True, default_audit_path(config), context)


def writes_impossible(conns: Any) -> str:
    """Why `conns` cannot write at all ('' when it can): e.g. it replays a captured bundle."""
    if getattr(conns, "replaying", False):
        return str(getattr(conns, "read_only_reason", "") or "replaying a bundle: writes are impossible")
    return ""


def kube_context_of(conns: Any) -> str:
    """The resolved kube context name of `conns` (the kubeconfig's current one when none was chosen)."""
    from checks.errors import SourceError

    try:
        return str(conns.kube.context_name or "")
    except SourceError:
        return str(getattr(conns, "context", "") or conns.config.context or "")
