"""Fix texts of the RustFS IAM flow: what to do in the RustFS Console (no `mc admin`), with policy JSON.

Pure functions; they name Secrets, keys, users and buckets, never a secret value.
"""

from __future__ import annotations

import json

from checks.config import SecretRef
from checks.parsers.s3_policy import corrected_policy

ARN = "arn:aws:s3:::"


def policy_json(bucket: str) -> str:
    """The seed's per-application policy for `bucket`, pretty-printed."""
    return json.dumps(corrected_policy(bucket or "<bucket>"), indent=2)


def bucket_statement(bucket: str) -> str:
    """The statement granting the bucket-level actions on the bucket ARN."""
    return json.dumps({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                       "Resource": [f"{ARN}{bucket}"]}, indent=2)


def object_statement(bucket: str) -> str:
    """The statement granting object actions on `bucket/*`."""
    return json.dumps({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                       "Resource": [f"{ARN}{bucket}/*"]}, indent=2)


def _where_policy(policies: list[str], user: str) -> str:
    if policies:
        return f"RustFS Console → Identity → Policies → {', '.join(policies)} → Edit"
    who = f"user {user}" if user else "the user of this access key"
    return f"RustFS Console → Identity → Policies → the policy attached to {who} (or to its group) → Edit"


def update_secret(ref: SecretRef | None, id_key: str = "") -> str:
    """How to put new keys into the app's Secret without a stray newline."""
    if ref is None:
        return "Store the new Access Key and Secret Key where the app reads them, then restart the app."
    keys = f'"{id_key}":"<access key>",' if id_key else ""
    return (f"Store them in Secret {ref.namespace}/{ref.name} (no trailing newline):\n"
            f"  kubectl -n {ref.namespace} patch secret {ref.name} --type merge "
            f"-p '{{\"stringData\":{{{keys}\"{ref.key}\":\"<secret key>\"}}}}'\n"
            "then restart the workload (Reloader does it when the workload is annotated).")


def create_access_key(user: str, ref: SecretRef | None, id_key: str = "") -> str:
    """Fix for an access key RustFS does not know (deleted or never created)."""
    who = user or "<the application's user>"
    return (f"RustFS Console → Identity → Users → {who} → Service Accounts → Create Access Key; save both keys "
            f"(the secret is shown once).\n" + update_secret(ref, id_key))


def strip_newline(ref: SecretRef | None) -> str:
    """Fix for a secret key stored with a trailing newline / whitespace."""
    if ref is None:
        return "Remove the trailing newline/whitespace from the configured secret key."
    return (f"Re-store the value of Secret {ref.namespace}/{ref.name} key {ref.key} without the trailing newline "
            f"(use `printf '%s'`, not `echo`, when base64-encoding):\n"
            f"  kubectl -n {ref.namespace} patch secret {ref.name} --type merge "
            f"-p '{{\"stringData\":{{\"{ref.key}\":\"<secret key>\"}}}}'\n"
            "then restart the workload.")


def wrong_secret(user: str, ref: SecretRef | None, id_key: str = "") -> str:
    """Fix for a secret key that does not belong to the access key."""
    return ("The Secret holds a secret key that does not belong to this access key. RustFS shows a secret key "
            "only once: " + create_access_key(user, ref, id_key))


def create_bucket(bucket: str, policies: list[str]) -> str:
    """Fix for a bucket that does not exist."""
    text = f"RustFS Console → Buckets → Create Bucket → name: {bucket}"
    if policies:
        text += f"\n(the policies {', '.join(policies)} already reference it)"
    return text


def add_bucket_statement(bucket: str, policies: list[str], user: str) -> str:
    """Fix for ListObjectsV2 / GetBucketLocation denied."""
    return (f"{_where_policy(policies, user)}: grant the bucket-level actions on the bucket ARN "
            f"{ARN}{bucket} (not {ARN}{bucket}/*). Add this statement:\n{bucket_statement(bucket)}\n"
            f"The whole policy should read:\n{policy_json(bucket)}")


def add_object_statement(bucket: str, policies: list[str], user: str) -> str:
    """Fix for object actions denied."""
    return (f"{_where_policy(policies, user)}: grant the object actions on {ARN}{bucket}/*. Add this statement:\n"
            f"{object_statement(bucket)}\nThe whole policy should read:\n{policy_json(bucket)}")


def narrow_policy(bucket: str, policies: list[str], user: str) -> str:
    """Fix for a policy that reaches other buckets."""
    return (f"{_where_policy(policies, user)}: replace `s3:*` / `{ARN}*` with the application's bucket only. "
            f"Policy:\n{policy_json(bucket)}")


def replace_policy(bucket: str, policy: str, via: str) -> str:
    """Fix for a policy that fails the lint: the corrected JSON."""
    where = f"RustFS Console → Identity → Policies → {policy} → Edit" if policy else \
        "RustFS Console → Identity → Policies → Create Policy, then assign it to the user's group"
    suffix = f" (attached to {via})" if via else ""
    return f"{where}{suffix}; replace the document with:\n{policy_json(bucket)}"


def enable_user(user: str) -> str:
    """Fix for a disabled user / access key."""
    return f"RustFS Console → Identity → Users → {user or '<user>'} → Enable (or enable its access key)."
