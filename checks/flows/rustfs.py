"""RustFS IAM flow R1–R8 (troubleshooting-flows.md §3): why an app gets AccessDenied / auth errors from S3.

Input: the consuming app (`NS/WORKLOAD`), or an access key (its Secret is looked up) and a bucket, and
optionally the error text the app logged. Stops after R1 (unreachable) and R2 (no credentials); after a
rejected R3 only R8 (admin lint) still runs; after a missing bucket (R4) R5/R6 are skipped.
Read-only unless `allow_writes` (R6w's probe object, always deleted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.errors import SourceError
from checks.flows.rustfs_access import (step_bucket_actions, step_least_privilege, step_object_read,
                                        step_object_write, step_policy_lint)
from checks.flows.rustfs_steps import FlowCtx, step_bucket, step_endpoint, step_located, step_valid
from checks.model import FlowResult, Step, StepRecorder

STEP_TITLES = {"R4": "bucket exists", "R5": "bucket-level actions allowed", "R6": "object-level read allowed",
               "R6w": "object write probe (Put/Get/Delete)", "R7": "least privilege"}


def _fill_from_creds(ctx: FlowCtx, creds: Any, where: str) -> None:
    ctx.where = where
    ctx.access_key = (creds.access_key or "").strip()
    ctx.secret_key = creds.secret_key
    ctx.bucket = ctx.bucket or creds.bucket
    ctx.endpoint = creds.endpoint or ctx.endpoint
    ctx.region = creds.region or ctx.region
    ctx.sources = dict(creds.source)
    ctx.secret_ref = creds.secret_ref
    ctx.path_style = creds.path_style
    src = creds.source.get("access_key", "")
    if " key " in src and "secret " in src:
        ctx.id_key = src.rsplit(" key ", 1)[1].split(" ")[0]


def _resolve_subject(ctx: FlowCtx, app: str | None, access_key: str | None) -> None:
    """Fill the context from the app's workload, or from the Secret holding `access_key`."""
    from checks.rustfs_apps import app_credentials, find_key_holder

    if app:
        try:
            _, found = app_credentials(ctx.conns, app)
        except SourceError as exc:
            if exc.kind in ("unreachable", "timeout", "auth") or (exc.system == "kubernetes" and exc.kind != "notfound"):
                raise  # the cluster could not be read: the flow cannot run, it is not the app's fault
            ctx.problems = (f"{exc.title}: {exc.message}",)
            return
        ctx.problems = found.problems
        if found.s3 is None:
            ctx.problems = (f"workload {found.namespace}/{found.workload} has no S3 settings (AWS_*/S3_* env, "
                            "--dir=s3:// args)", *found.problems)
            return
        _fill_from_creds(ctx, found.s3, f"workload {app} ({found.workload})")
        if access_key and access_key != ctx.access_key:
            ctx.problems += (f"--access-key {access_key} differs from the app's key {ctx.access_key}; "
                             "checking the app's key",)
        return
    if access_key:
        holder = find_key_holder(ctx.conns, access_key)
        ctx.access_key = access_key
        if holder is None:
            ctx.problems = (f"no workload env and no Secret in the readable namespaces holds access key {access_key}",)
            return
        if holder.creds is not None:
            _fill_from_creds(ctx, holder.creds, holder.where)
            ctx.access_key = access_key


def run_rustfs(conns: Any, *, app: str | None = None, error: str | None = None, allow_writes: Any = False,
               on_step: Callable[[Step], None] | None = None, access_key: str | None = None,
               bucket: str | None = None) -> FlowResult:
    """Run R1–R8 and return the result; `on_step` is called as each step finishes."""
    from checks.flows.classify import classify_error
    from checks.rustfs_apps import default_endpoint
    from checks.sources.s3 import classify_s3_error

    ctx = FlowCtx(conns, region=conns.config.rustfs.region or "us-east-1", bucket=bucket or "")
    if error:
        cls = classify_error(error)
        if cls is not None and cls.flow == "rustfs":
            access_key = access_key or cls.subject.get("access_key")
            ctx.bucket = ctx.bucket or cls.subject.get("bucket", "")
        ctx.error_code = classify_s3_error(error) or ""
    if not app and not access_key:
        raise SourceError("triage", "Nothing to check", "name the app (--app NS/WORKLOAD) or the access key "
                          "(--access-key KEY, with --bucket B if known), or give an error text that names the key")
    ctx.app_name = (app or "").rsplit("/", 1)[-1]
    ctx.endpoint = default_endpoint(conns)
    ctx.sources = {"endpoint": "config rustfs.service"}
    _resolve_subject(ctx, app, access_key)
    subject = {k: v for k, v in (("app", app or ""), ("access_key", ctx.access_key), ("bucket", ctx.bucket),
                                 ("endpoint", ctx.endpoint), ("credentials", ctx.where),
                                 ("error_code", ctx.error_code)) if v}
    rec = StepRecorder(on_step=on_step)

    def done() -> FlowResult:
        return FlowResult("rustfs", subject, tuple(rec.steps))

    r1 = rec.add(step_endpoint(ctx))
    if r1.status in ("fail", "error"):
        return done()
    r2 = rec.add(step_located(ctx))
    if r2.status == "fail":
        return done()
    r3 = rec.add(step_valid(ctx))
    if r3.status in ("fail", "error"):
        reason = f"credentials rejected at R3 ({r3.code or 'error'}): every request with them fails the same way"
        for sid in ("R4", "R5", "R6", "R6w", "R7"):
            rec.add(Step(sid, STEP_TITLES[sid], "skip", None, (reason,)))
    else:
        rec.add(step_bucket(ctx))
        rec.add(step_bucket_actions(ctx))
        rec.add(step_object_read(ctx))
        rec.add(step_object_write(ctx, allow_writes))
        rec.add(step_least_privilege(ctx))
    rec.add(step_policy_lint(ctx))
    return done()
