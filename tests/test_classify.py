import pytest
from hypothesis import given, strategies as st

from checks.flows.classify import classify_error


@pytest.mark.parametrize("text, flow, step, subject", [
    ("WRONGPASS invalid username-password pair or user is disabled.", "dragonfly", "D3", {}),
    ("redis.exceptions.AuthenticationError: invalid username-password pair or user is disabled.", "dragonfly", "D3", {}),
    ("-NOAUTH Authentication required.", "dragonfly", "D2", {}),
    ("-NOPERM litellm has no ACL permissions", "dragonfly", "D5", {"user": "litellm"}),
    ("-NOPERM User alice has no permissions to run the 'get' command", "dragonfly", "D5", {"user": "alice"}),
    ("-NOPERM this user has no permissions to access one of the keys used as arguments", "dragonfly", "D5", {}),
    ("OOM command not allowed when used memory > 'maxmemory'.", "dragonfly", "D11", {}),
    ("-ERR Out of memory", "dragonfly", "D11", {}),
    ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed for user "litellm"',
     "cnpg", "C1", {"role": "litellm"}),
    ('FATAL:  role "obot" is not permitted to log in', "cnpg", "C2", {"role": "obot"}),
    ('FATAL:  too many connections for role "analytics"', "cnpg", "C5", {"role": "analytics"}),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "keycloak", database "keycloak", no encryption', "cnpg", "C6", {"role": "keycloak"}),
    ("botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied", "rustfs", "R3", {}),
    ("<Error><Code>InvalidAccessKeyId</Code><AWSAccessKeyId>AKIAEXAMPLE123456789</AWSAccessKeyId></Error>", "rustfs", "R3", {"access_key": "AKIAEXAMPLE123456789"}),
    ("An error occurred (SignatureDoesNotMatch) when calling the PutObject operation", "rustfs", "R3", {}),
    ("An error occurred (NoSuchBucket) when calling the PutObject operation: <BucketName>dragonfly-backups</BucketName>", "rustfs", "R4", {"bucket": "dragonfly-backups"}),
])
def test_spec_table(text, flow, step, subject):
    c = classify_error(text)
    assert c is not None
    assert (c.flow, c.start_step) == (flow, step)
    for k, v in subject.items():
        assert c.subject[k] == v


def test_unknown_text():
    assert classify_error("segfault in module foo") is None


@given(st.text())
def test_never_crashes(text):
    c = classify_error(text)
    assert c is None or c.flow in ("dragonfly", "cnpg", "rustfs")
