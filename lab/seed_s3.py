"""Seed moto (the RustFS stand-in) with buckets, policies, groups, users and access keys, then
switch IAM enforcement on. Mutates the plan: `s3_keys[app]` and `s3_admin` hold the keys."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from lab.plan import S3_APPS

REGION = "us-east-1"
OBJECTS = {
    "dragonfly-backups": ["snapshot-summary.dfs", "snapshot-0000.dfs"],
    "litellm": ["cache/responses/2f1c.json", "logs/2026/spend-logs.jsonl"],
    "langfuse": ["events/otel/batch-0001.json", "media/trace-42.png", "exports/traces.csv"],
    "obot": ["workspaces/default/README.md", "workspaces/default/notes.txt"],
    "loki": ["index/index_19700/compactor.json", "fake/chunks/0001.gz"],
}


def policy_document(bucket: str, kind: str = "pattern") -> dict[str, Any]:
    """The seed's least-privilege pattern, or one of the planted mistakes."""
    if kind == "s3-star":
        return {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}]}
    bucket_arn = f"arn:aws:s3:::{bucket}/*" if kind == "list-on-objects" else f"arn:aws:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": [bucket_arn]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/*"]},
    ]}


def _clients(endpoint: str) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="lab-bootstrap", aws_secret_access_key="lab-bootstrap",
                                    region_name=REGION)
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
    return session.client("iam", endpoint_url=endpoint, config=cfg), \
        session.client("s3", endpoint_url=endpoint, config=cfg)


def seed(endpoint: str, plan: dict[str, Any]) -> None:
    iam, s3 = _clients(endpoint)
    admin_policy = iam.create_policy(PolicyName="rustfs-admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    iam.create_user(UserName="rustfsadmin")
    iam.attach_user_policy(UserName="rustfsadmin", PolicyArn=admin_policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName="rustfsadmin")["AccessKey"]
    plan["s3_admin"] = {"user": "rustfsadmin", "access_key": key["AccessKeyId"],
                        "secret_key": key["SecretAccessKey"]}
    groups: set[str] = set()
    plan["s3_keys"] = {}
    for app, (bucket, user, group, on_group) in S3_APPS.items():
        spec = plan["s3"][app]
        if spec["create_bucket"]:
            s3.create_bucket(Bucket=bucket)
            for obj in OBJECTS.get(bucket, []):
                s3.put_object(Bucket=bucket, Key=obj, Body=f"lab object {obj}\n".encode())
        arn = iam.create_policy(PolicyName=f"{app}-storage",
                                PolicyDocument=json.dumps(policy_document(bucket, spec["policy"])))["Policy"]["Arn"]
        if group not in groups:
            iam.create_group(GroupName=group)
            groups.add(group)
        iam.create_user(UserName=user, Tags=[{"Key": "app", "Value": app}])
        iam.add_user_to_group(GroupName=group, UserName=user)
        if on_group:
            iam.attach_group_policy(GroupName=group, PolicyArn=arn)
        else:
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        plan["s3_keys"][app] = {"user": user, "bucket": bucket, "access_key": key["AccessKeyId"],
                                "secret_key": key["SecretAccessKey"], "policy": f"{app}-storage",
                                "group": group}
        if spec["delete_key"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    enforce_iam(endpoint)


def enforce_iam(endpoint: str, count: str = "0") -> None:
    """From now on only IAM-created keys are accepted ("inf" switches enforcement off)."""
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
