"""The command line's WriteGate: `--allow-writes` + the kube context's lock + a prompt per write (or `--yes`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from checks.writes import (WriteGate, WriteIntent, WriteRefused, default_audit_path, kube_context_of, locked_reason,
                           writes_impossible)

NO_TTY = ("--allow-writes: every write must be confirmed, and there is no terminal to ask on (stdin is not a TTY); "
          "pass --yes to confirm the writes in advance (CI), or run without --allow-writes")


def prompt_confirm(intent: WriteIntent) -> bool:
    """Ask on the terminal (stderr, so JSON on stdout stays clean); default no."""
    click.echo("clusterdeck wants to write:", err=True)
    for line in intent.lines():
        click.echo(f"  {line}", err=True)
    return click.confirm("Make this change?", default=False, err=True)


def cli_gate(conns: Any, allow_writes: bool, yes: bool, *, interactive: bool | None = None) -> WriteGate:
    """The gate for a CLI run. Raises WriteRefused (the CLI exits 2 with its text) when `--allow-writes` was
    given but the resolved kube context is locked by the config, or nothing can confirm the writes."""
    if not allow_writes:
        return WriteGate.disabled()
    if impossible := writes_impossible(conns):
        raise WriteRefused(f"--allow-writes refused: {impossible}")
    context = kube_context_of(conns)
    check_unlocked(conns.config, context)
    if yes:
        return WriteGate(True, lambda _intent: True, default_audit_path(conns.config), context)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise WriteRefused(NO_TTY)
    return WriteGate(True, prompt_confirm, default_audit_path(conns.config), context)


def check_unlocked(config: Any, context: str) -> None:
    """Refuse `--allow-writes` in a context the config locks (`contexts.<name>.read_only = true`)."""
    locked = locked_reason(config, context)
    if locked:
        raise WriteRefused(f"--allow-writes refused: {locked}")
