"""`clusterdeck capture` and the `--from BUNDLE` replay used by the TUI, `check` and `triage`.

The bundle format and what a capture records: docs/bundle-format.md.
"""

from __future__ import annotations

import sys
from typing import Any

import click

WRITES_IMPOSSIBLE = "replaying a bundle: writes are impossible"


def _fail(message: str) -> None:
    click.echo(f"clusterdeck: {message}", err=True)
    sys.exit(2)


def replay_connections(path: str, allow_writes: bool = False) -> Any:
    """ReplayConnections over the bundle at `path`; exit 2 with the reason when it cannot be replayed."""
    from checks.bundle import BundleError
    from checks.replay import open_bundle

    if allow_writes:
        _fail(WRITES_IMPOSSIBLE)
    try:
        return open_bundle(path)
    except BundleError as exc:
        _fail(f"cannot replay {path}: {exc}")


@click.command()
@click.option("--output", "-o", "output", required=True, metavar="FILE",
              help="Bundle to write (gzip JSON, e.g. bundle.json.gz).")
@click.option("--service", type=click.Choice(["dragonfly", "cnpg", "rustfs", "alerts", "kubernetes"]), multiple=True,
              help="Only these systems for `check` and the flows (the panes are always captured).")
@click.option("--config", "config_path", default=None, help="Config file.")
@click.option("--context", default=None, help="Kube context to capture.")
@click.option("--namespace", "-n", default=None, help="Default namespace.")
@click.pass_context
def capture(ctx: click.Context, output: str, service: tuple[str, ...], config_path: str | None,
            context: str | None, namespace: str | None) -> None:
    """Record every answer the panes, `check` and the flows get, secrets removed, for offline replay
    (`clusterdeck --from FILE`, `clusterdeck check --from FILE`, `clusterdeck triage --from FILE …`)."""
    from checks.bundle import BundleError
    from checks.capture_run import capture as run_capture
    from checks.config import load_config
    from checks.errors import ConfigError, SourceError

    opts = ctx.obj or {}
    if opts.get("allow_writes"):
        _fail("capture is read-only: drop --allow-writes")
    if opts.get("bundle"):
        _fail("capture reads the cluster: drop --from")
    try:
        config = load_config(config_path or opts.get("config"))
    except ConfigError as exc:
        _fail(f"config: {exc}")
    context = context or opts.get("context")
    config = config.with_overrides(context=context, namespace=namespace or opts.get("namespace"))
    try:
        summary = run_capture(config, output, context=context or None, services=service or None)
    except (SourceError, BundleError) as exc:
        _fail(str(exc))
    click.echo(f"wrote {summary.path}: {summary.calls} answers, {summary.secrets} secrets replaced by tokens, "
               f"{summary.findings} findings, {summary.flows} flow runs")
    for note in summary.notes:
        click.echo(f"clusterdeck: not captured: {note}", err=True)
    if any(note.startswith("check: ") for note in summary.notes):
        sys.exit(2)  # the bundle records the failure, but `check` could not run on this cluster
