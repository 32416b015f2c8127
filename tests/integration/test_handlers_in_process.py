"""The handlers run in this process against the emulator's deployed resources, driven by the
sample events in events/ (the same events `sam local invoke -e` would use)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from igpub.config import get_settings
from igpub_cli.deployment import Deployment
from tests.conftest import sample_event_invite

ROOT = Path(__file__).resolve().parents[2]


class Context:
    function_name = "in-process"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:in-process"
    aws_request_id = "in-process"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load(function: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"handler_{function}", ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as Lambda's import does; pydantic resolves annotations through it
    spec.loader.exec_module(module)
    return module


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    return data


@pytest.fixture
def env(dep: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    assert dep.endpoint_url and dep.fake_url
    monkeypatch.setenv("AWS_ENDPOINT_URL", dep.endpoint_url)
    for key, value in dep.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IGPUB_OAUTH_REDIRECT_URI", dep.output("OAuthRedirectUri"))
    monkeypatch.setenv("IGPUB_APP_SECRET_NAME", dep.output("AppSecretArn"))
    monkeypatch.setenv("IGPUB_INSTAGRAM_APP_ID", "igpub-local-app")
    monkeypatch.setenv("IGPUB_INSTAGRAM_AUTHORIZE_URL", f"{dep.fake_url}/www.instagram.com/oauth/authorize")
    monkeypatch.setenv("IGPUB_GRAPH_INSTAGRAM_BASE", f"{dep.fake_url}/graph.instagram.com")
    monkeypatch.setenv("IGPUB_ALLOW_HTTP_MEDIA", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "igpub")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_connect_event_redirects_to_instagram(env: None, dep: Deployment) -> None:
    sample_event_invite(dep, "oauth_connect", flow="instagram")
    resp = load("oauth").lambda_handler(event("oauth_connect"), Context())
    assert resp["statusCode"] == 302
    headers = {k: v[0] for k, v in (resp.get("multiValueHeaders") or {}).items()} | (resp.get("headers") or {})
    location = headers["Location"]
    assert "/www.instagram.com/oauth/authorize?" in location and "state=" in location


def test_callback_event_with_a_state_never_issued_is_refused(env: None) -> None:
    resp = load("oauth").lambda_handler(event("oauth_callback"), Context())
    assert resp["statusCode"] == 400
    assert "not valid" in resp["body"]


def test_publisher_prepare_event_for_an_unknown_account(env: None) -> None:
    e = event("publisher_prepare")
    e["post_id"] = uuid.uuid4().hex
    out = load("publisher").lambda_handler(e, Context())
    assert out["status"] == "failed"
    assert "not connected" in out["reason"]


def test_publisher_fail_event_records_the_reason(env: None, dep: Deployment) -> None:
    post_id = uuid.uuid4().hex
    prep = event("publisher_prepare") | {"post_id": post_id}
    load("publisher").lambda_handler(prep, Context())
    out = load("publisher").lambda_handler(event("publisher_fail") | {"post_id": post_id}, Context())
    assert out["status"] == "failed" and "2207052" in out["reason"]
    item = dep.client("dynamodb").get_item(TableName=dep.output("PostsTableName"), Key={"post_id": {"S": post_id}})
    assert item["Item"]["status"]["S"] == "failed"
    assert "2207052" in item["Item"]["failure_reason"]["S"]


def test_prepare_run_again_by_the_same_execution_is_not_a_duplicate(env: None, account: Any) -> None:
    """A Prepare retried after its claim was written (AWS answered too late, the state machine retried)
    still owns the post; another execution is the duplicate."""
    e = event("publisher_prepare") | {"post_id": uuid.uuid4().hex}
    e["request"] = e["request"] | {"account_id": account.account_id}
    handler = load("publisher").lambda_handler
    assert handler(dict(e), Context())["status"] == "ready"
    assert handler(dict(e), Context())["status"] == "ready"
    other = dict(e) | {"execution_id": e["execution_id"] + "-other"}
    assert handler(other, Context())["status"] == "duplicate"


def test_transient_aws_error_in_a_task_is_raised_as_aws_transient_error(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from igpub.publishing import workflow
    from igpub.repositories.aws import AwsTransientError

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Decrypt")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Decrypt")

    e = event("publisher_prepare") | {"post_id": uuid.uuid4().hex}
    monkeypatch.setattr(workflow, "prepare", throttled)
    with pytest.raises(AwsTransientError, match=r"AWS kept failing \(Decrypt: ThrottlingException\)"):
        load("publisher").lambda_handler(e, Context())
    monkeypatch.setattr(workflow, "prepare", broken)
    with pytest.raises(ClientError):  # not transient: raised as it is
        load("publisher").lambda_handler(e, Context())
