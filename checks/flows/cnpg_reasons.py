"""A few words saying why a role is flagged: the pane's WHY column, from the deciding step."""

from __future__ import annotations

from checks.flows.cnpg_facts import RoleFacts
from checks.model import Step

REASONS = {
    "CNPG_UNREACHABLE": "cluster unreachable",
    "CNPG_ROLE_NOT_MANAGED": "not in spec.managed.roles",
    "CNPG_ROLE_NOLOGIN": "role cannot log in (NOLOGIN)",
    "CNPG_SECRET_MISSING": "password Secret missing",
    "CNPG_SECRET_KEYS_MISSING": "Secret lacks username/password keys",
    "CNPG_USERNAME_MISMATCH": "Secret username ≠ role",
    "CNPG_RELOAD_LABEL_MISSING": "no cnpg.io/reload label",
    "CNPG_SECRET_TRAILING_NEWLINE": "password ends with a newline",
    "CNPG_RECONCILE_PENDING": "operator reconcile pending",
    "CNPG_CANNOT_RECONCILE": "operator cannot reconcile",
    "CNPG_PASSWORD_NOT_SYNCED": "rotation not applied by the operator",
    "CNPG_ROLE_MISSING_IN_DB": "role missing in the database",
    "CNPG_PASSWORD_EXPIRED": "password expired (validUntil)",
    "CNPG_CONNECTION_LIMIT": "connection limit reached",
    "CNPG_PASSWORD_MISMATCH": "password changed outside CNPG",
    "CNPG_NO_HBA_ENTRY": "no pg_hba entry",
    "CNPG_DATABASE_MISSING": "database missing",
    "CNPG_NO_CONNECT_PRIVILEGE": "no CONNECT on the database",
    "CNPG_POD_STALE_SECRET": "pods predate the Secret change",
    "CNPG_APP_USES_OTHER_SECRET": "app reads another Secret",
}
MAX = 40


def short_reason(step: Step, f: RoleFacts) -> str:
    """The WHY text for a flagged row; specific where the facts allow."""
    code = step.code
    if code == "CNPG_RELOAD_LABEL_MISSING" and f.rv_synced is False:
        return "rotation unapplied: no reload label"
    if code == "CNPG_USERNAME_MISMATCH" and f.secret_username is not None:
        return f"Secret username {f.secret_username.strip()[:16]} ≠ role"
    if code == "CNPG_PASSWORD_EXPIRED" and f.pg is not None and f.pg.valid_until is not None:
        verb = "expired" if f.pg.expired(f.now) else "expires"
        return f"password {verb} {f.pg.valid_until.strftime('%Y-%m-%d')}"
    if code == "CNPG_POD_STALE_SECRET":
        stale = [c for c in f.consumers if c.stale]
        if stale:
            return f"{stale[0].workload.split('/', 1)[-1]} pods predate the rotation"[:MAX]
    if code == "CNPG_PASSWORD_MISMATCH" and f.xmin_drift:
        return "DB password altered outside CNPG"
    if code in REASONS:
        return REASONS[code]
    text = step.evidence[0] if step.evidence else step.title
    return text if len(text) <= MAX else text[: MAX - 1] + "…"
