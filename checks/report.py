"""Plain-text, JSON and JUnit renderings of flow results and findings (no Rich: CI logs)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from checks.model import Finding, FlowResult

_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP", "error": "ERR "}


def _clean(text: str) -> str:
    """Drop control characters (ANSI escapes included) from server-provided text."""
    return "".join(ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text)


def flow_text(result: FlowResult) -> str:
    subject = ", ".join(f"{k}={v}" for k, v in result.subject.items())
    lines = [f"{result.flow} flow — {_clean(subject)}"]
    for step in result.steps:
        code = f" [{step.code}]" if step.code else ""
        lines.append(f"  {_MARK[step.status]} {step.id:<4} {_clean(step.title)}{code}")
        if step.status != "pass":
            lines.extend(f"         · {_clean(e)}" for e in step.evidence)
            if step.fix:
                lines.extend(f"         fix: {_clean(f)}" for f in step.fix.splitlines())
    rc = result.root_cause
    lines.append(f"root cause: {rc.code} at {rc.step} — {_clean(rc.summary)}" if rc else "root cause: none found")
    return "\n".join(lines)


def flow_json(result: FlowResult) -> str:
    return json.dumps(result.as_dict(), indent=2)


def findings_text(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        code = f" [{f.code}]" if f.code else ""
        lines.append(f"{_MARK[f.status]} {f.system:<11} {_clean(f.subject):<28} {f.id:<5} {_clean(f.title)}{code}")
        if f.status in ("fail", "error", "warn"):
            lines.extend(f"      · {_clean(e)}" for e in f.evidence[:4])
    return "\n".join(lines) if lines else "no findings"


def findings_json(findings: Iterable[Finding]) -> str:
    items = [f.as_dict() for f in findings]
    summary = {s: sum(1 for f in items if f["status"] == s) for s in ("pass", "fail", "warn", "skip", "error")}
    return json.dumps({"findings": items, "summary": summary}, indent=2)


def findings_junit(findings: Iterable[Finding]) -> str:
    by_system: dict[str, list[Finding]] = {}
    for f in findings:
        by_system.setdefault(f.system, []).append(f)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for system, items in by_system.items():
        failures = sum(1 for f in items if f.status == "fail")
        errors = sum(1 for f in items if f.status == "error")
        skipped = sum(1 for f in items if f.status == "skip")
        out.append(f"  <testsuite name={quoteattr('clusterdeck.' + system)} tests=\"{len(items)}\" "
                   f"failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">")
        for f in items:
            name = quoteattr(_clean(f"{f.id} {f.subject}: {f.title}"))
            out.append(f"    <testcase classname={quoteattr(system)} name={name}>")
            items = f.evidence + ((f"fix: {f.fix}",) if f.fix else ())
            body = escape("\n".join(_clean(line) for item in items for line in item.splitlines()))
            if f.status == "fail":
                out.append(f"      <failure message={quoteattr(_clean(f.code or f.title))}>{body}</failure>")
            elif f.status == "error":
                out.append(f"      <error message={quoteattr(_clean(f.code or f.title))}>{body}</error>")
            elif f.status == "skip":
                out.append(f"      <skipped message={quoteattr(_clean(f.evidence[0] if f.evidence else ''))}/>")
            elif f.status == "warn":
                out.append(f"      <system-out>{escape('WARN ' + (f.code or ''))}\n{body}</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out)
