"""Where igpub is deployed: the local stack (its state file, written by `make up`) or a CloudFormation stack on
AWS (its outputs).

How the CLI finds the local stack, first match wins (``local_stack_files``):
1. ``IGPUB_STACK_FILE``, when set (only that file);
2. ``.run/stack.json`` in the current folder or any folder above it (inside a checkout);
3. the user-level state file ``$XDG_STATE_HOME/igpub/local-<port>.json`` (``~/.local/state/igpub/...``), where
   ``<port>`` is ``IGPUB_EMU_PORT`` (4566 by default): `make up` writes it and `make down` removes it, so the CLI
   finds the stack from any folder.
With none of them, or with ``--stack``/``IGPUB_STACK``, it reads the CloudFormation stack on AWS."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

DEFAULT_STACK_FILE = Path(".run/stack.json")
DEFAULT_EMU_PORT = "4566"


def user_state_file(port: str | None = None) -> Path:
    """The user-level copy of the local stack's state for the emulator on ``port`` (``IGPUB_EMU_PORT``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "igpub" / f"local-{port or os.environ.get('IGPUB_EMU_PORT') or DEFAULT_EMU_PORT}.json"


def local_stack_files(cwd: Path | None = None) -> list[Path]:
    """Where the local stack's state file is looked for, in order (see the module's docstring)."""
    explicit = os.environ.get("IGPUB_STACK_FILE")
    if explicit:
        return [Path(explicit)]
    here = (cwd or Path.cwd()).resolve()
    return [folder / DEFAULT_STACK_FILE for folder in (here, *here.parents)] + [user_state_file()]


def _where_we_looked() -> str:
    explicit = os.environ.get("IGPUB_STACK_FILE")
    if explicit:
        return f"IGPUB_STACK_FILE={explicit} does not exist"
    return (f"no .run/stack.json in {Path.cwd()} or a folder above it, and no {user_state_file()} "
            f"(IGPUB_EMU_PORT={os.environ.get('IGPUB_EMU_PORT') or DEFAULT_EMU_PORT}); `make up` writes both")


class DeploymentNotFound(Exception):
    pass


@dataclass(frozen=True)
class Deployment:
    stack: str
    outputs: dict[str, str]
    region: str
    endpoint_url: str | None = None  # the emulator's, for the local stack
    fake_url: str | None = None  # the fake Instagram, for the local stack

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise DeploymentNotFound(f"stack {self.stack} has no output {key}: deploy the current template") from None

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.endpoint_url:  # the emulator takes any credentials
            kwargs["endpoint_url"] = self.endpoint_url
            kwargs["aws_access_key_id"] = os.environ.get("AWS_ACCESS_KEY_ID", "test")
            kwargs["aws_secret_access_key"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "test")
        return kwargs

    def client(self, service: str, *, config: Any = None) -> Any:
        kwargs = self._kwargs()
        if config is not None:
            kwargs["config"] = config
        if service == "s3":
            from botocore.config import Config

            kwargs["config"] = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        return boto3.client(service, **kwargs)  # type: ignore[call-overload]

    def table(self, output_key: str) -> Any:
        return boto3.resource("dynamodb", **self._kwargs()).Table(self.output(output_key))

    def env(self) -> dict[str, str]:
        """Settings for the library (igpub.config) to reach this deployment's resources."""
        o = self.outputs
        mapping = {
            "IGPUB_ACCOUNTS_TABLE": o.get("AccountsTableName"),
            "IGPUB_POSTS_TABLE": o.get("PostsTableName"),
            "IGPUB_USAGE_TABLE": o.get("UsageTableName"),
            "IGPUB_STATES_TABLE": o.get("OAuthStatesTableName"),
            "IGPUB_IDEMPOTENCY_TABLE": o.get("IdempotencyTableName"),
            "IGPUB_HASHTAGS_TABLE": o.get("HashtagsTableName"),
            "IGPUB_INVITES_TABLE": o.get("InvitesTableName"),
            "IGPUB_KMS_KEY_ID": o.get("TokenKeyId"),
            "IGPUB_MEDIA_BUCKET": o.get("MediaBucketName"),
            "IGPUB_WEBHOOK_EVENTS_TABLE": o.get("WebhookEventsTableName"),
        }
        return {k: v for k, v in mapping.items() if v}

    @classmethod
    def load(cls, stack: str | None = None, region: str | None = None, stack_file: Path | None = None) -> Deployment:
        """The local stack when its state file is found (``local_stack_files``) and no stack name is given; else
        the AWS stack (``stack``, ``IGPUB_STACK`` or ``igpub``)."""
        found_file = [stack_file] if stack_file else [p for p in local_stack_files() if p.is_file()][:1]
        path = found_file[0] if found_file else None
        if stack is None and path is not None and path.exists():
            data = json.loads(path.read_text())
            return cls(
                stack=data["stack"],
                outputs=data["outputs"],
                region="us-east-1",
                endpoint_url=data["endpoint"],
                fake_url=data.get("fake"),
            )
        name = stack or os.environ.get("IGPUB_STACK") or "igpub"
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        cfn = boto3.client("cloudformation", region_name=region)
        try:
            found = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except Exception as exc:
            local = "" if stack else f"no local stack ({_where_we_looked()}), and "
            raise DeploymentNotFound(
                f"no igpub deployment found: {local}the CloudFormation stack {name!r} is not reachable in {region} "
                f"(--stack, IGPUB_STACK, AWS credentials: {exc})"
            ) from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
        return cls(stack=name, outputs=outputs, region=region)
