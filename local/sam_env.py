"""The env-vars file for `sam local invoke` / `sam local start-api` (`--env-vars`).

    python local/sam_env.py --endpoint http://127.0.0.1:4566 --stack igpub-local --out .run/sam-env.json

SAM CLI gives a function only the environment variables the template declares, with the values
it can resolve by itself (a `!Ref` to a table resolves to nothing locally). This file supplies the
values of the deployed stack: each function's variables are read from the deployment
(Lambda GetFunctionConfiguration, on the emulator or LocalStack at --endpoint), and every URL
the function calls itself on this machine (127.0.0.1/localhost: the emulator, the fake
Instagram) is rewritten to the host as seen from inside a container (host.docker.internal, which
`make invoke` maps to the Docker host with `--add-host host.docker.internal:host-gateway`).
Browser-facing URLs (the authorize pages) are kept as they are. AWS_ENDPOINT_URL (declared by the
template only when LocalAwsEndpointUrl is set, which `make invoke` does) points at --endpoint.

No secret goes into this file: table names, ARNs, URLs and parameter names only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

import boto3
import httpx

CONTAINER_HOST = "host.docker.internal"
BROWSER_FACING = {"IGPUB_INSTAGRAM_AUTHORIZE_URL", "IGPUB_FACEBOOK_DIALOG_URL"}
_LOCAL_URL = re.compile(r"^(https?://)(127\.0\.0\.1|localhost)([:/]|$)")


def container_url(url: str, host: str = CONTAINER_HOST) -> str:
    """http://127.0.0.1:4566/x -> http://host.docker.internal:4566/x (other URLs unchanged)."""
    return _LOCAL_URL.sub(lambda m: f"{m.group(1)}{host}{m.group(3)}", url)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def function_environments(endpoint: str, stack: str) -> dict[str, dict[str, str]]:
    """{logical id: deployed environment variables} of every Lambda function of the stack."""
    cfn = _client("cloudformation", endpoint)
    lam = _client("lambda", endpoint)
    result: dict[str, dict[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for res in page["StackResourceSummaries"]:
            if res["ResourceType"] != "AWS::Lambda::Function":
                continue
            config = lam.get_function_configuration(FunctionName=res["PhysicalResourceId"])
            result[res["LogicalResourceId"]] = dict((config.get("Environment") or {}).get("Variables") or {})
    return result


def env_file(
    environments: dict[str, dict[str, str]],
    endpoint: str,
    host: str = CONTAINER_HOST,
    overrides: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for logical_id, variables in sorted(environments.items()):
        values = {}
        for key, value in sorted(variables.items()):
            if key.startswith("AWS_"):
                continue
            values[key] = value if key in BROWSER_FACING else container_url(value, host)
        values["AWS_ENDPOINT_URL"] = container_url(endpoint, host)
        values.update(overrides or {})
        out[logical_id] = values
    return out


def api_redirects(endpoint: str, stack: str, base: str, fake: str | None) -> dict[str, str]:
    """Callbacks that come back to `sam local start-api` at `base`: SSM parameters of their own (the
    functions read the redirect URI from SSM), registered with the fake Instagram's app."""
    ssm = _client("ssm", endpoint)
    overrides = {}
    uris = []
    for variable, name, path in (
        ("IGPUB_REDIRECT_URI_PARAMETER", "sam-local-oauth-redirect-uri", "/oauth/callback"),
        ("IGPUB_FACEBOOK_REDIRECT_URI_PARAMETER", "sam-local-facebook-redirect-uri", "/oauth/facebook/callback"),
    ):
        parameter = f"/igpub/{stack}/{name}"
        ssm.put_parameter(Name=parameter, Value=base.rstrip("/") + path, Type="String", Overwrite=True)
        overrides[variable] = parameter
        uris.append(base.rstrip("/") + path)
    if fake:
        try:
            current = httpx.get(f"{fake}/_fake/config", timeout=5).json().get("allowed_redirect_uris") or []
            httpx.post(
                f"{fake}/_fake/config", json={"allowed_redirect_uris": sorted({*current, *uris})}, timeout=5
            ).raise_for_status()
        except httpx.HTTPError as exc:
            print(f"note: the fake Instagram at {fake} was not told about {uris}: {exc}")
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="the stack's AWS endpoint, from here")
    parser.add_argument("--stack", default="igpub-local")
    parser.add_argument("--out", type=Path, default=Path(".run/sam-env.json"))
    parser.add_argument("--host", default=CONTAINER_HOST, help="this machine as seen from a container")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="extra value, all functions")
    parser.add_argument("--redirect-base", help="sam local start-api's URL: OAuth callbacks come back to it")
    parser.add_argument("--fake", help="the fake Instagram, told to accept those callbacks")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    if args.redirect_base:
        overrides |= api_redirects(args.endpoint, args.stack, args.redirect_base, args.fake)
    data = env_file(function_environments(args.endpoint, args.stack), args.endpoint, args.host, overrides)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {args.out} ({', '.join(data)})")


if __name__ == "__main__":
    main()
