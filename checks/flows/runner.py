"""One entry point for every guided flow, used by the CLI, the Triage pane and `check`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from checks.errors import SourceError
from checks.flows.classify import classify_error
from checks.model import FlowResult, Step

if TYPE_CHECKING:
    from checks.writes import WriteGate

FLOWS = ("dragonfly", "cnpg", "rustfs")


def run_flow(conns: Any, flow: str | None = None, *, error: str | None = None, app: str | None = None,
             allow_writes: bool | WriteGate = False, on_step: Callable[[Step], None] | None = None,
             **subject: str | None) -> FlowResult:
    """Run `flow` (or the one `error` points to) for an app and/or an identity.

    `allow_writes`: the caller's WriteGate (confirms and audits every write), or a bool (True = writes
    confirmed in advance, as `--yes`; see checks.writes.gate_for).
    Raises SourceError when the flow cannot be chosen or cannot run at all.
    """
    if flow is None:
        if not error:
            raise SourceError("triage", "Nothing to triage", "give a flow (dragonfly, cnpg, rustfs) or --error TEXT")
        cls = classify_error(error)
        if cls is None:
            raise SourceError("triage", "Unrecognised error text",
                              "the text matches none of the known errors (WRONGPASS, NOPERM, password "
                              "authentication failed, AccessDenied, ...); name the flow explicitly")
        flow = cls.flow
        for key, value in cls.subject.items():
            subject.setdefault(key, value)
    kwargs = {k: v for k, v in subject.items() if v}
    if flow == "dragonfly":
        from checks.flows.dragonfly import run_dragonfly as fn
    elif flow == "cnpg":
        from checks.flows.cnpg import run_cnpg as fn
    elif flow == "rustfs":
        from checks.flows.rustfs import run_rustfs as fn
    else:
        raise SourceError("triage", "Unknown flow", f"{flow!r} is not one of {', '.join(FLOWS)}")
    return fn(conns, app=app, error=error, allow_writes=allow_writes, on_step=on_step, **kwargs)
