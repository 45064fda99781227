"""`clusterdeck` command line: the TUI, the lab, and the headless check/triage commands.

Exit codes: 0 nothing failed, 1 a failing finding, 2 could not run (a system it needs failed: the message
goes to stderr, and for check/triage the report still goes to stdout).
Heavy imports (textual, clients) happen inside the subcommands that need them.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tui.cli_capture import capture, replay_connections

OUTPUTS = click.Choice(["text", "json"])


def _fail(message: str) -> None:
    click.echo(f"clusterdeck: {message}", err=True)
    sys.exit(2)


def _connections(ctx: click.Context) -> Any:
    from checks.config import load_config
    from checks.connect import Connections
    from checks.errors import ConfigError

    opts = ctx.obj
    if opts.get("bundle"):  # --from BUNDLE: answers from the bundle, no network (tui/cli_capture.py)
        return replay_connections(opts["bundle"], opts.get("allow_writes", False))
    try:
        config = load_config(opts["config"])
    except ConfigError as exc:
        _fail(f"config: {exc}")
    config = config.with_overrides(context=opts["context"], namespace=opts["namespace"])
    return Connections(config, context=opts["context"] or None)


UNREACHABLE_CODES = frozenset({"DF_UNREACHABLE", "CNPG_UNREACHABLE", "S3_ENDPOINT_UNREACHABLE", "K8S_UNREACHABLE"})
"""Root causes that mean "could not get at the service at all": the flow could not examine its subject."""


def _blocked(status: str, code: str | None) -> bool:
    """A step/finding that says the check could not run (errored, or never reached the service)."""
    return status == "error" or (status == "fail" and code in UNREACHABLE_CODES)


def _flow_blocker(result: Any) -> str | None:
    """Why a flow could not run to a verdict (its first failing step errored or could not reach the
    service), or None when it ran, whatever it found."""
    for step in result.steps:
        if step.status in ("fail", "error"):
            if not _blocked(step.status, step.code):
                return None
            why = step.evidence[0] if step.evidence else (step.code or step.status)
            return f"{result.flow} flow stopped at {step.id} ({step.title}): {why}"
    return None


def _check_blockers(findings: list[Any]) -> list[str]:
    """One line per distinct reason some check could not run."""
    lines: dict[str, str] = {}
    for f in findings:
        if _blocked(f.status, f.code):
            why = f.evidence[0] if f.evidence else f.title
            lines.setdefault(why, f"{f.system} {f.subject} {f.id}: {why}")
    return list(lines.values())


def _run_guarded(fn: Any) -> Any:
    from checks.errors import ConfigError, SourceError

    try:
        return fn()
    except SourceError as exc:
        _fail(f"{exc.system}: {exc.title}: {exc.message}")
    except ConfigError as exc:
        _fail(f"config: {exc}")


def _store_bundle(ctx: click.Context, _param: Any, value: str | None) -> None:
    ctx.ensure_object(dict)
    if value:
        ctx.obj["bundle"] = value


FROM_OPTION = click.option("--from", "bundle", default=None, metavar="BUNDLE", expose_value=False,
                           callback=_store_bundle, help="Replay a bundle from `clusterdeck capture` (no network, "
                           "no writes; docs/bundle-format.md).")


def common_options(fn: Any) -> Any:
    fn = FROM_OPTION(fn)
    fn = click.option("--config", "config_path", default=None, help="Config file (else $CLUSTERDECK_CONFIG, the running lab's, ~/.config/clusterdeck/config.toml).")(fn)
    fn = click.option("--context", default=None, help="Kube context to use.")(fn)
    fn = click.option("--namespace", "-n", default=None, help="Default namespace.")(fn)
    return fn


def _store(ctx: click.Context, config_path: str | None, context: str | None, namespace: str | None) -> None:
    ctx.ensure_object(dict)
    for key, value in (("config", config_path), ("context", context), ("namespace", namespace)):
        if value is not None or key not in ctx.obj:
            ctx.obj[key] = value


@click.group(invoke_without_command=True)
@common_options
@click.option("--allow-writes", is_flag=True, help="Enable write actions (each one is confirmed and audited).")
@click.option("--yes", is_flag=True, help="With --allow-writes: confirm every write in advance (CI; still audited).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, context: str | None, namespace: str | None,
        allow_writes: bool, yes: bool) -> None:
    """clusterdeck: find why an app cannot reach Dragonfly, CloudNativePG or RustFS, and the fix."""
    _store(ctx, config_path, context, namespace)
    ctx.obj["allow_writes"] = allow_writes
    ctx.obj["yes"] = yes
    if ctx.invoked_subcommand is None:
        _run_tui(ctx)


def _run_tui(ctx: click.Context) -> None:
    from checks.config import load_config
    from checks.errors import ConfigError

    if ctx.obj.get("bundle"):
        from tui.app import make_app

        conns = replay_connections(ctx.obj["bundle"], ctx.obj.get("allow_writes", False))
        make_app(conns.config, connections=conns, context_name=conns.bundle.context or None).run()
        return
    try:
        config = load_config(ctx.obj["config"])
    except ConfigError as exc:
        _fail(f"config: {exc}")
    config = config.with_overrides(context=ctx.obj["context"], namespace=ctx.obj["namespace"])
    context_name = None
    if ctx.obj.get("allow_writes"):  # refuse before the TUI starts when the real context is locked
        from checks.connect import Connections
        from checks.writes import WriteRefused, kube_context_of
        from tui.cli_writes import check_unlocked

        context_name = kube_context_of(Connections(config, context=ctx.obj["context"] or None)) or None
        try:
            check_unlocked(config, context_name or "")
        except WriteRefused as exc:
            _fail(str(exc))
    from tui.app import make_app

    make_app(config, allow_writes=ctx.obj.get("allow_writes", False), context_name=context_name).run()


@cli.command()
@click.option("--clean", is_flag=True, help="Start the lab without planted faults.")
@click.pass_context
def demo(ctx: click.Context, clean: bool) -> None:
    """Start the lab (if not running) and open the TUI on it."""
    from lab import manager
    from lab.state import read_state

    state = read_state()
    if state is None:
        click.echo("starting the lab…", err=True)
        state = manager.up(clean=clean)
    ctx.obj["config"] = ctx.obj["config"] or state["config"]
    import os

    os.environ.setdefault("KUBECONFIG", state["kubeconfig"])
    _run_tui(ctx)


@cli.group()
def lab() -> None:
    """The local lab of real servers (Redis, PostgreSQL, moto S3, Prometheus, kmock Kubernetes API)."""


@lab.command("up")
@click.option("--clean", is_flag=True, help="Plant no faults.")
def lab_up(clean: bool) -> None:
    from lab import manager

    try:
        state = manager.up(clean=clean)
    except manager.LabAlreadyRunning as exc:
        _fail(str(exc))
    except RuntimeError as exc:
        _fail(f"lab: {exc}")
    click.echo(f"lab up in {state['dir']} ({'clean' if clean else 'with planted faults'})")
    click.echo(manager.env_lines())


@lab.command("down")
def lab_down() -> None:
    from lab import manager

    click.echo("lab stopped" if manager.down() else "no lab was running")


@lab.command("status")
def lab_status() -> None:
    from lab import manager

    state = manager.status()
    if state is None:
        click.echo("no lab is running")
        sys.exit(1)
    import json

    click.echo(json.dumps(state, indent=2))


@lab.command("env")
def lab_env() -> None:
    from lab import manager

    text = manager.env_lines()
    if not text:
        _fail("no lab is running (clusterdeck lab up)")
    click.echo(text)


@cli.command()
@common_options
@click.option("--service", type=click.Choice(["dragonfly", "cnpg", "rustfs", "alerts", "kubernetes"]), multiple=True,
              help="Only these systems (repeatable).")
@click.option("--output", "-o", type=click.Choice(["text", "json", "junit"]), default="text")
@click.pass_context
def check(ctx: click.Context, config_path: str | None, context: str | None, namespace: str | None,
          service: tuple[str, ...], output: str) -> None:
    """Run every check headless; exit 1 when something fails."""
    _store(ctx, config_path, context, namespace)
    from checks import report
    from checks.checkrun import run_checks

    conns = _connections(ctx)
    findings = _run_guarded(lambda: run_checks(conns, services=service or None))
    render = {"text": report.findings_text, "json": report.findings_json, "junit": report.findings_junit}[output]
    click.echo(render(findings))
    blockers = _check_blockers(findings)
    for line in blockers:
        click.echo(f"clusterdeck: could not run: {line}", err=True)
    sys.exit(2 if blockers else 1 if any(f.status in ("fail", "error") for f in findings) else 0)


def _emit_flow(ctx: click.Context, output: str, flow: str | None, **kwargs: Any) -> None:
    from checks import report
    from checks.flows.runner import run_flow

    from checks.writes import WriteRefused
    from tui.cli_writes import cli_gate

    conns = _connections(ctx)
    try:
        gate = cli_gate(conns, ctx.obj.get("allow_writes", False), ctx.obj.get("yes", False))
    except WriteRefused as exc:
        _fail(str(exc))
    result = _run_guarded(lambda: run_flow(conns, flow, allow_writes=gate, **kwargs))
    click.echo(report.flow_json(result) if output == "json" else report.flow_text(result))
    blocker = _flow_blocker(result)
    if blocker:
        _fail(blocker)
    sys.exit(1 if result.failed else 0)


@cli.group(invoke_without_command=True)
@common_options
@click.option("--error", "error_text", default=None, help="The error text the application logged.")
@click.option("--app", default=None, metavar="NS/WORKLOAD")
@click.option("--output", "-o", type=OUTPUTS, default="text")
@click.option("--allow-writes", is_flag=True, help="Run the write probes (canary pod, probe object).")
@click.option("--yes", is_flag=True, help="With --allow-writes: confirm every write in advance (CI; still audited).")
@click.pass_context
def triage(ctx: click.Context, config_path: str | None, context: str | None, namespace: str | None,
           error_text: str | None, app: str | None, output: str, allow_writes: bool, yes: bool) -> None:
    """Guided root-cause flows; `triage --error TEXT` picks the flow from the text."""
    _store(ctx, config_path, context, namespace)
    ctx.obj["allow_writes"] = ctx.obj.get("allow_writes") or allow_writes
    ctx.obj["yes"] = ctx.obj.get("yes") or yes
    ctx.obj["triage_output"] = output
    if ctx.invoked_subcommand is None:
        if not error_text:
            click.echo(ctx.get_help())
            sys.exit(2)
        _emit_flow(ctx, output, None, error=error_text, app=app)


def _flow_command(name: str, options: list[Any], doc: str) -> None:
    def command(ctx: click.Context, output: str | None, allow_writes: bool, yes: bool, **kwargs: Any) -> None:
        out = output or ctx.obj.get("triage_output", "text")
        ctx.obj["allow_writes"] = ctx.obj.get("allow_writes") or allow_writes
        ctx.obj["yes"] = ctx.obj.get("yes") or yes
        _emit_flow(ctx, out, name, **kwargs)

    command.__doc__ = doc
    for opt in reversed(options):
        command = opt(command)
    command = click.option("--output", "-o", type=OUTPUTS, default=None)(command)
    command = FROM_OPTION(command)
    command = click.option("--allow-writes", is_flag=True,
                           help="Run the write probes (each confirmed, audited).")(command)
    command = click.option("--yes", is_flag=True, help="With --allow-writes: confirm the writes in advance.")(command)
    command = click.option("--error", "error", default=None, help="The error text the app logged.")(command)
    command = click.option("--app", default=None, metavar="NS/WORKLOAD", help="The consuming workload.")(command)
    triage.command(name)(click.pass_context(command))


_flow_command("dragonfly", [click.option("--user", default=None, help="ACL user.")],
              "Dragonfly ACL flow D1-D11 (WRONGPASS, NOAUTH, NOPERM, OOM).")
_flow_command("cnpg", [click.option("--cluster", default=None, metavar="NS/NAME"),
                       click.option("--role", default=None, help="Managed role.")],
              "CNPG password rotation flow C1-C7 (password authentication failed).")
_flow_command("rustfs", [click.option("--access-key", "access_key", default=None),
                         click.option("--bucket", default=None)],
              "RustFS IAM flow R1-R8 (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket).")


cli.add_command(capture)


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
