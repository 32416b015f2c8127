"""The local stack evaluates IAM (ministack AUTH=true): a permission the template lacks fails here as on
AWS. The two emulator quirks local/post_deploy.py corrects are corrected in the emulator only, and
exactly: nothing broader than the template is allowed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from igpub_cli.deployment import Deployment


def test_the_emulator_runs_with_auth(emulator: str) -> None:
    assert httpx.get(f"{emulator}/_ministack/health", timeout=5).json()["auth"] == "enabled"


@pytest.fixture
def stranger(dep: Deployment) -> Iterator[dict[str, str]]:
    """Credentials of an IAM user who may read objects of the media bucket, and nothing else."""
    iam = dep.client("iam")
    name = f"igpub-test-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    bucket = dep.output("MediaBucketName")
    iam.put_user_policy(UserName=name, PolicyName="read-media", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    yield {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="read-media")
    iam.delete_user(UserName=name)


def as_stranger(dep: Deployment, creds: dict[str, str], service: str) -> Any:
    return boto3.client(service, endpoint_url=dep.endpoint_url, region_name=dep.region, **creds)  # type: ignore[call-overload]


def test_a_principal_without_a_permission_is_refused(dep: Deployment, stranger: dict[str, str]) -> None:
    ddb = as_stranger(dep, stranger, "dynamodb")
    with pytest.raises(ClientError) as denied:
        ddb.get_item(TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": "1"}})
    assert denied.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")


def test_the_tls_only_deny_still_applies_beyond_the_loopback(dep: Deployment, stranger: dict[str, str]) -> None:
    """Quirk (b): the bucket policy keeps its Deny; only the loopback (TLS's stand-in here) is spared."""
    s3 = dep.client("s3")
    bucket = dep.output("MediaBucketName")
    key = f"tests/iam-{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"]["Bool"] == {"aws:SecureTransport": "false"}
    assert deny["Condition"]["NotIpAddress"] == {"aws:SourceIp": ["127.0.0.1/32"]}
    assert [s for s in policy["Statement"] if s["Effect"] == "Allow"] == []
    reader = as_stranger(dep, stranger, "s3")
    assert reader.get_object(Bucket=bucket, Key=key)["Body"].read() == b"x"  # from the loopback: spared
    elsewhere = json.loads(json.dumps(policy))
    elsewhere["Statement"][0]["Condition"]["NotIpAddress"] = {"aws:SourceIp": ["192.0.2.1/32"]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(elsewhere))
    try:
        with pytest.raises(ClientError, match="explicit deny"):
            reader.get_object(Bucket=bucket, Key=key)
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        s3.delete_object(Bucket=bucket, Key=key)


def test_secret_policies_name_the_secrets_arns(dep: Deployment) -> None:
    """Quirk (a): the OAuth role may read exactly the two secrets, by ARN (as CloudFormation writes it on AWS)."""
    cfn, iam, sm = dep.client("cloudformation"), dep.client("iam"), dep.client("secretsmanager")
    resources = cfn.list_stack_resources(StackName=dep.stack)["StackResourceSummaries"]
    role = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "OAuthFunctionRole")
    granted = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for s in doc["Statement"]:
            if "secretsmanager:GetSecretValue" in s["Action"]:
                granted.update([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    secrets = {sm.describe_secret(SecretId=dep.output(k))["ARN"] for k in ("AppSecretArn", "FacebookAppSecretArn")}
    assert granted == secrets
