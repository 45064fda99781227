"""Results of checks and guided flows: the stable interface shared by the TUI, JSON and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "warn", "skip", "error"]
STATUSES: tuple[str, ...] = ("pass", "fail", "warn", "skip", "error")


@dataclass(frozen=True)
class Step:
    """One step of a guided flow (D1..D11, C1..C7, R1..R8)."""

    id: str
    """Stable step id from the flow spec, e.g. 'D4'."""
    title: str
    """What the step checks, in a few words."""
    status: Status
    """pass | fail | warn | skip | error."""
    code: str | None = None
    """Stable root-cause code on fail/warn/error, None on pass."""
    evidence: tuple[str, ...] = ()
    """Observations that support the status; never contains a secret."""
    fix: str = ""
    """The exact fix proposed, ready to copy."""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "code": self.code,
                "evidence": list(self.evidence), "fix": self.fix}


@dataclass(frozen=True)
class RootCause:
    """The first failing step of a flow."""

    code: str
    step: str
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "step": self.step, "summary": self.summary}


@dataclass(frozen=True)
class FlowResult:
    """A finished guided flow."""

    flow: str
    """dragonfly | cnpg | rustfs."""
    subject: dict[str, str]
    """What was examined: user/role/access_key/bucket/app/cluster."""
    steps: tuple[Step, ...]
    """Steps in the order they ran."""

    @property
    def root_cause(self) -> RootCause | None:
        for step in self.steps:
            if step.status in ("fail", "error") and step.code:
                return RootCause(step.code, step.id, step.evidence[0] if step.evidence else step.title)
        return None

    @property
    def warnings(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.status == "warn")

    @property
    def failed(self) -> bool:
        return self.root_cause is not None

    def as_dict(self) -> dict[str, Any]:
        rc = self.root_cause
        return {"flow": self.flow, "subject": dict(self.subject),
                "steps": [s.as_dict() for s in self.steps],
                "root_cause": rc.as_dict() if rc else None}


@dataclass(frozen=True)
class Finding:
    """One result of `clusterdeck check`: a step-like record tied to a system and subject."""

    system: str
    subject: str
    id: str
    title: str
    status: Status
    code: str | None = None
    evidence: tuple[str, ...] = ()
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "subject": self.subject, "id": self.id, "title": self.title,
                "status": self.status, "code": self.code, "evidence": list(self.evidence), "fix": self.fix}


@dataclass
class StepRecorder:
    """Collects steps as a flow runs; `on_step` lets the TUI show each one live."""

    steps: list[Step] = field(default_factory=list)
    on_step: Any = None

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step
