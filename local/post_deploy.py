"""Steps around `sam deploy` that the emulator needs (run by local/stack.sh with the dev venv).

pre:  create the artifact bucket sam deploy uploads to.
post: switch on DynamoDB TTL (the emulator ignores CloudFormation's TimeToLiveSpecification),
      correct the emulator's quirks that AUTH=true exposes (below), store the fake's app secret in
      Secrets Manager, write the stack outputs to .run/stack.json and print the endpoints.

The emulator runs with AUTH=true (local/stack.sh): IAM is evaluated and each Lambda runs with its
execution role's credentials, so a permission the template lacks fails a test as it would on AWS.
Two emulator quirks are corrected here, in the emulator only; template.yaml stays as it is on AWS:

(a) ministack resolves ``!Ref`` of an ``AWS::SecretsManager::Secret`` to the secret's name where AWS
    gives its ARN, so the SAM policy ``AWSSecretsManagerGetSecretValuePolicy: {SecretArn: !Ref ...}``
    names a resource that matches nothing. ``fix_secret_references`` rewrites, in the stack's role
    policies, every Resource that is exactly a stack secret's name to that secret's ARN: what
    CloudFormation puts there on AWS.
(b) The media bucket's policy denies every request without TLS (``aws:SecureTransport`` false), and
    the emulator speaks plain http only, so under AUTH=true every S3 call is refused, the fake
    Instagram's presigned media downloads included. ``fix_tls_only_bucket_policies`` lets the Deny
    spare the loopback (``NotIpAddress aws:SourceIp 127.0.0.1/32``), which stands in for TLS here:
    the statement stays a Deny for any other plain-http caller, and every other statement, the role
    policies that grant S3 access included, is evaluated as on AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx

STACK = "igpub-local"
ARTIFACT_BUCKET = "igpub-sam-artifacts"
LOCAL_APP_SECRET = "local-app-secret"  # noqa: S105 - the fake Instagram's default app secret, not a real one
LOCAL_FB_APP_SECRET = "local-fb-app-secret"  # noqa: S105 - the fake's
FAKE_CALLBACK_URLS = {
    "deauthorize_callback_url": "DeauthorizeCallbackUrl",
    "data_deletion_callback_url": "DataDeletionRequestUrl",
    "fb_deauthorize_callback_url": "FacebookDeauthorizeCallbackUrl",
    "fb_data_deletion_callback_url": "FacebookDataDeletionRequestUrl",
}
TTL_ATTRIBUTES = {
    "OAuthStatesTableName": "expires_at",
    "UsageTableName": "expires_at",
    "IdempotencyTableName": "expiration",
    "WebhookEventsTableName": "expires_at",
    "InvitesTableName": "expires_at",
    "DeletionRequestsTableName": "expires_at",
}


for _key, _value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
    os.environ.setdefault(_key, _value)  # the emulator accepts any credentials


def _client(service: str, endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")  # type: ignore[call-overload]


def pre(endpoint: str) -> None:
    s3 = _client("s3", endpoint)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if ARTIFACT_BUCKET not in existing:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)


def _stack_resources(cfn: Any) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=STACK):
        resources.extend(page["StackResourceSummaries"])
    return resources


def _replace_resources(statement: dict[str, Any], mapping: dict[str, str]) -> bool:
    resource = statement.get("Resource")
    if isinstance(resource, str) and resource in mapping:
        statement["Resource"] = mapping[resource]
        return True
    if isinstance(resource, list) and any(r in mapping for r in resource):
        statement["Resource"] = [mapping.get(r, r) for r in resource]
        return True
    return False


def fix_secret_references(endpoint: str, resources: list[dict[str, Any]]) -> list[str]:
    """Quirk (a): a role policy naming a stack secret by name gets its ARN instead. Returns what changed."""
    sm, iam = _client("secretsmanager", endpoint), _client("iam", endpoint)
    names = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::SecretsManager::Secret"]
    mapping = {}
    for name in names:
        arn = sm.describe_secret(SecretId=name)["ARN"]
        if arn != name:
            mapping[name] = arn
    fixed = []
    for role in (r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::IAM::Role"):
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(doc)
            statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
            if any([_replace_resources(s, mapping) for s in statements]):
                doc["Statement"] = statements
                iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(doc))
                fixed.append(f"{role}/{policy}")
    return fixed


LOOPBACK = "127.0.0.1/32"


def _is_tls_only_deny(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    secure = {str(k).lower(): v for k, v in (condition.get("Bool") or {}).items()}.get("aws:securetransport")
    return statement.get("Effect") == "Deny" and str(secure).lower() == "false"


def fix_tls_only_bucket_policies(endpoint: str, resources: list[dict[str, Any]]) -> list[str]:
    """Quirk (b): the TLS-only Deny of the stack's bucket policies spares the loopback. Returns the buckets."""
    s3 = _client("s3", endpoint)
    buckets = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"]
    fixed = []
    for bucket in buckets:
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except s3.exceptions.ClientError:
            continue  # no policy
        changed = False
        for statement in policy.get("Statement", []):
            if _is_tls_only_deny(statement) and "NotIpAddress" not in statement["Condition"]:
                statement["Condition"]["NotIpAddress"] = {"aws:SourceIp": [LOOPBACK]}
                changed = True
        if changed:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            fixed.append(bucket)
    return fixed


def post(endpoint: str, fake: str, out: Path) -> None:
    cfn = _client("cloudformation", endpoint)
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = _stack_resources(cfn)
    for fixed in fix_secret_references(endpoint, resources):
        print(f"emulator quirk (a): secret ARN put in place of its name in {fixed}")
    for fixed in fix_tls_only_bucket_policies(endpoint, resources):
        print(f"emulator quirk (b): the TLS-only Deny of bucket {fixed} spares the loopback (plain http here)")
    ddb = _client("dynamodb", endpoint)
    for key, attribute in TTL_ATTRIBUTES.items():
        if key in outputs:
            ddb.update_time_to_live(
                TableName=outputs[key],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )
    sm = _client("secretsmanager", endpoint)
    sm.put_secret_value(SecretId=outputs["AppSecretArn"], SecretString=LOCAL_APP_SECRET)
    if "FacebookAppSecretArn" in outputs:
        sm.put_secret_value(SecretId=outputs["FacebookAppSecretArn"], SecretString=LOCAL_FB_APP_SECRET)
    # the fake checks the redirect URI at code exchange against the one registered for the app
    redirect_uris = [v for k, v in outputs.items() if k.endswith("RedirectUri")]
    fake_config: dict[str, object] = {"allowed_redirect_uris": redirect_uris}
    if "WebhookCallbackUrl" in outputs:
        # the fake's app-level webhooks subscription: igpub's callback and its verify token
        verify_token = sm.get_secret_value(SecretId=outputs["WebhookVerifyTokenArn"])["SecretString"]
        fake_config |= {"webhook_callback_url": outputs["WebhookCallbackUrl"], "webhook_verify_token": verify_token}
    # Meta's deauthorize and data deletion callbacks, as registered in the App Dashboard
    fake_config |= {k: outputs[v] for k, v in FAKE_CALLBACK_URLS.items() if v in outputs}
    try:
        httpx.post(f"{fake}/_fake/config", json=fake_config, timeout=5)
    except httpx.HTTPError as exc:
        print(f"warning: could not configure the fake Instagram: {exc}", file=sys.stderr)
    info = {"stack": STACK, "endpoint": endpoint, "fake": fake, "outputs": outputs}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print("\nigpub is deployed on the local stack:")
    print(f"  AWS emulator     {endpoint}")
    print(f"  fake Instagram   {fake}")
    for key in ("ApiUrl", "ConnectUrl", "OAuthRedirectUri", "PublishStateMachineArn"):
        if key in outputs:
            print(f"  {key:<16} {outputs[key]}")
    print(f"  (all outputs in {out})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["pre", "post"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--fake", default="http://127.0.0.1:4580")
    parser.add_argument("--out", type=Path, default=Path(".run/stack.json"))
    args = parser.parse_args()
    if args.step == "pre":
        pre(args.endpoint)
    else:
        post(args.endpoint, args.fake, args.out)


if __name__ == "__main__":
    main()
