"""RustFS flow steps R5–R8: bucket actions, object actions (read; write probe), least privilege, policy lint."""

from __future__ import annotations

import uuid

from checks.flows import rustfs_fixes as fixes
from checks.flows.rustfs_steps import FlowCtx
from checks.model import Step
from checks.parsers.s3_policy import lint_policy
from checks.tasks import Tasks
from checks.writes import WriteDeclined, WriteGate, WriteIntent, WriteRefused, gate_for

ARN = "arn:aws:s3:::"
MAX_OTHER_BUCKETS = 50
"""R7 probes at most this many other buckets (the evidence says how many were skipped)."""


ABSENT_KEY = ".clusterdeck-probe/absent"
"""The key R6 and the matrix HEAD to test reads (never created: write probes use `probe_key()`); fixed, so a
replayed bundle asks exactly what the capture asked."""


def probe_key() -> str:
    """A key no application uses: `.clusterdeck-probe/<uuid>`."""
    return f".clusterdeck-probe/{uuid.uuid4().hex}"


def _misplaced_grants(ctx: FlowCtx) -> list[str]:
    """Statements granting bucket-level actions on `bucket/*` instead of the bucket ARN (admin view)."""
    iam = ctx.admin().iam
    if iam is None:
        return []
    out = []
    for name in ctx.policies():
        pol = iam.policy(name)
        statements = (pol.document.get("Statement", []) if pol else [])
        for s in statements if isinstance(statements, list) else [statements]:
            if not isinstance(s, dict) or str(s.get("Effect", "")).lower() != "allow":
                continue
            acts = s.get("Action", [])
            acts = [acts] if isinstance(acts, str) else list(acts)
            res = s.get("Resource", [])
            res = [res] if isinstance(res, str) else list(res)
            bucket_acts = [a for a in acts if a in ("s3:ListBucket", "s3:GetBucketLocation")]
            if bucket_acts and f"{ARN}{ctx.bucket}/*" in res and f"{ARN}{ctx.bucket}" not in res:
                out.append(f"policy {name} grants {', '.join(bucket_acts)} on {ARN}{ctx.bucket}/* (object ARN); "
                           f"bucket-level actions need the bucket ARN {ARN}{ctx.bucket}")
    return out


def _skip_reason(ctx: FlowCtx) -> str:
    if not ctx.bucket:
        return "no bucket known for this app: pass --bucket"
    if ctx.bucket_exists is False:
        return f"bucket {ctx.bucket} does not exist (R4)"
    return ""


def step_bucket_actions(ctx: FlowCtx) -> Step:
    """R5: ListObjectsV2 and GetBucketLocation on the app's bucket."""
    title = "bucket-level actions allowed"
    if reason := _skip_reason(ctx):
        return Step("R5", title, "skip", None, (reason,))
    assert ctx.client is not None
    listed = ctx.client.list_objects(ctx.bucket, 1)
    loc = ctx.client.get_bucket_location(ctx.bucket)
    evidence = [f"ListObjectsV2 {ctx.bucket}: {listed.code or 'OK'} (HTTP {listed.http_status})",
                f"GetBucketLocation {ctx.bucket}: {loc.code or 'OK'} (HTTP {loc.http_status})"]
    denied = [p.operation for p in (listed, loc) if p.code in ("AccessDenied", "Forbidden")]
    if not denied:
        if listed.ok and loc.ok:
            return Step("R5", title, "pass", None, tuple(evidence))
        return Step("R5", title, "error", None, tuple(evidence))
    evidence.insert(0, f"{' and '.join(denied)} denied on {ARN}{ctx.bucket}")
    evidence += _misplaced_grants(ctx)
    evidence += list(ctx.logged("AccessDenied"))
    return Step("R5", title, "fail", "S3_MISSING_BUCKET_ACTION", tuple(evidence),
                fixes.add_bucket_statement(ctx.bucket, ctx.policies(), ctx.owner()))


def step_object_read(ctx: FlowCtx) -> Step:
    """R6: HeadObject of an absent key (404 = allowed, 403 = denied)."""
    title = "object-level read allowed"
    if reason := _skip_reason(ctx):
        return Step("R6", title, "skip", None, (reason,))
    assert ctx.client is not None
    key = ABSENT_KEY
    probe = ctx.client.head_object(ctx.bucket, key)
    evidence = [f"HeadObject {ctx.bucket}/{key} (absent key): {probe.code or 'OK'} (HTTP {probe.http_status})"]
    if probe.http_status == 404 or probe.ok:
        return Step("R6", title, "pass", None, (*evidence, "404 for an absent key: s3:GetObject is allowed"))
    if probe.http_status == 403:
        evidence.insert(0, f"s3:GetObject denied on {ARN}{ctx.bucket}/*")
        evidence.append("note: AWS also answers 403 for an absent key when s3:ListBucket is missing (see R5)")
        return Step("R6", title, "fail", "S3_MISSING_OBJECT_RESOURCE", tuple(evidence),
                    fixes.add_object_statement(ctx.bucket, ctx.policies(), ctx.owner()))
    return Step("R6", title, "error", None, tuple(evidence))


def step_object_write(ctx: FlowCtx, allow_writes: bool | WriteGate) -> Step:
    """R6w (write): Put/Get/Delete of a probe object, always deleted again; every write confirmed and audited
    through the WriteGate."""
    title = "object write probe (Put/Get/Delete)"
    if reason := _skip_reason(ctx):
        return Step("R6w", title, "skip", None, (reason,))
    gate = gate_for(ctx.conns, allow_writes)
    if not gate.allowed:
        return Step("R6w", title, "skip", None, (f"{gate.reason} (the probe object is always deleted)",))
    assert ctx.client is not None
    key = probe_key()
    target = f"s3://{ctx.bucket}/{key}"
    evidence: list[str] = []
    denied: list[str] = []
    created = False
    try:
        try:
            put = gate.run(WriteIntent("s3", "PutObject", target, (
                f"18-byte probe object, written with the app's access key {ctx.access_key}",
                f"then GetObject and DeleteObject {target}: the object is always deleted")),
                lambda: ctx.client.put_object(ctx.bucket, key))  # type: ignore[union-attr]
        except (WriteDeclined, WriteRefused) as exc:
            return Step("R6w", title, "skip", None, (str(exc),))
        created = put.ok
        evidence.append(f"PutObject {ctx.bucket}/{key}: {put.code or 'OK'}")
        if put.ok:
            got = ctx.client.get_object(ctx.bucket, key)
            evidence.append(f"GetObject: {got.code or 'OK'}")
            denied += ["s3:GetObject"] if got.code == "AccessDenied" else []
        else:
            denied += ["s3:PutObject"] if put.code == "AccessDenied" else []
    finally:
        if created:
            delete = WriteIntent("s3", "DeleteObject", target, ("removes the probe object",))
            gone = gate.run(delete, lambda: ctx.client.delete_object(ctx.bucket, key),  # type: ignore[union-attr]
                            approved=True)
            evidence.append(f"DeleteObject: {gone.code or 'OK'}")
            if not gone.ok:
                denied.append("s3:DeleteObject")
                admin = ctx.admin().s3
                cleaned = (gate.run(WriteIntent("s3", "DeleteObject", target, ("with the RustFS admin keys",)),
                                    lambda: admin.delete_object(ctx.bucket, key), approved=True)
                           if admin is not None else None)
                evidence.append("probe object removed with the admin keys" if cleaned is not None and cleaned.ok
                                else f"probe object {ctx.bucket}/{key} is left behind: delete it in the Console")
    if denied:
        return Step("R6w", title, "fail", "S3_MISSING_OBJECT_RESOURCE",
                    (f"{', '.join(denied)} denied on {ARN}{ctx.bucket}/*", *evidence),
                    fixes.add_object_statement(ctx.bucket, ctx.policies(), ctx.owner()))
    status = "pass" if created else "error"
    return Step("R6w", title, status, None, tuple(evidence))


def step_least_privilege(ctx: FlowCtx) -> Step:
    """R7: the same keys must be denied listing every other bucket."""
    title = "least privilege"
    assert ctx.client is not None
    admin = ctx.admin()
    names: list[str] | None = None
    how = ""
    if admin.s3 is not None:
        listed = admin.s3.list_buckets()
        if listed.ok:
            names, how = [b.name for b in listed.value], "buckets listed with the admin keys"
    own = ctx.client.list_buckets()
    evidence: list[str] = []
    if own.ok:
        evidence.append(f"these keys may ListBuckets (s3:ListAllMyBuckets): {len(own.value)} buckets visible")
        if names is None:
            names, how = [b.name for b in own.value], "buckets listed with the app's keys"
    if names is None:
        return Step("R7", title, "skip", None, ("cannot enumerate the other buckets: no admin keys and the app's "
                                                "keys may not ListBuckets",))
    others = sorted(n for n in names if n != ctx.bucket)
    probed = others[:MAX_OTHER_BUCKETS]
    with Tasks(max_workers=8) as pool:
        results = list(pool.map(lambda b: (b, ctx.client.list_objects(b, 1)), probed))  # type: ignore[union-attr]
    allowed = [b for b, p in results if p.ok]
    evidence.insert(0, f"ListObjectsV2 on {len(probed)} other buckets ({how})" +
                    (f"; {len(others) - len(probed)} more not probed" if len(others) > len(probed) else ""))
    if allowed:
        evidence.insert(0, f"these keys can list {len(allowed)} other bucket(s): {', '.join(allowed)}")
        return Step("R7", title, "warn", "S3_OVERBROAD_POLICY", tuple(evidence),
                    fixes.narrow_policy(ctx.bucket, ctx.policies(), ctx.owner()))
    return Step("R7", title, "pass", None, (*evidence, "every other bucket is denied"))


def step_policy_lint(ctx: FlowCtx) -> Step:
    """R8: the user's and its groups' attached policies follow the pattern (admin access only)."""
    title = "policy matches the pattern"
    admin = ctx.admin()
    if admin.iam is None:
        return Step("R8", title, "skip", None, (f"no admin access to read policies: {admin.reason}",))
    iam = admin.iam
    info = iam.owner_of(ctx.access_key)
    if info is None:
        return Step("R8", title, "skip", None, (f"no RustFS user owns access key {ctx.access_key} ({iam.source})",))
    attached = iam.policies_of(info.user)
    groups = iam.groups_of(info.user)
    evidence = [f"access key {ctx.access_key} belongs to user {info.user} ({info.kind}, {info.status})"
                + (f", groups {', '.join(groups)}" if groups else "") + f" — read through the {iam.source}"]
    if not attached:
        return Step("R8", title, "fail", "S3_POLICY_LINT", (f"no policy is attached to user {info.user} or its "
                                                            "groups", *evidence),
                    fixes.replace_policy(ctx.bucket, "", f"group {groups[0]}" if groups else f"user {info.user}"))
    lint_fail: list[tuple[str, str]] = []
    broad = False
    for name, via in attached:
        pol = iam.policy(name)
        issues = lint_policy(name, pol.document if pol else {}, ctx.bucket or None)
        if not issues:
            evidence.append(f"policy {name} (via {via}) follows the pattern")
        for issue in issues:
            evidence.append(f"{issue.code}: {issue.message} (via {via})")
            if issue.code == "S3_POLICY_LINT":
                lint_fail.append((name, via))
            else:
                broad = True
    if lint_fail:
        name, via = lint_fail[0]
        return Step("R8", title, "fail", "S3_POLICY_LINT", tuple(evidence), fixes.replace_policy(ctx.bucket, name, via))
    if broad:
        return Step("R8", title, "warn", "S3_OVERBROAD_POLICY", tuple(evidence),
                    fixes.narrow_policy(ctx.bucket, [n for n, _ in attached], info.user))
    return Step("R8", title, "pass", None, tuple(evidence))
