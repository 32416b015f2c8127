"""Steps around `sam deploy` that the emulator needs (run by local/stack.sh with the dev venv).

pre:  create the artifact bucket sam deploy uploads to.
post: switch on DynamoDB TTL (the emulator ignores CloudFormation's TimeToLiveSpecification),
      store the fake's app secret in Secrets Manager, write the stack outputs to .run/stack.json
      and print the endpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
import httpx

STACK = "igpub-local"
ARTIFACT_BUCKET = "igpub-sam-artifacts"
LOCAL_APP_SECRET = "local-app-secret"  # noqa: S105 - the fake Instagram's default app secret, not a real one
LOCAL_FB_APP_SECRET = "local-fb-app-secret"  # noqa: S105 - the fake's
TTL_ATTRIBUTES = {
    "OAuthStatesTableName": "expires_at",
    "UsageTableName": "expires_at",
    "IdempotencyTableName": "expiration",
    "WebhookEventsTableName": "expires_at",
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


def post(endpoint: str, fake: str, out: Path) -> None:
    cfn = _client("cloudformation", endpoint)
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
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
