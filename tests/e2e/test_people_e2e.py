"""People and permissions: the CLI run by an IAM user holding only one of igpub's managed policies
(ViewerPolicyArn, PosterPolicyArn, AdminPolicyArn), on the local stack with IAM enforced (AUTH=true).
Each role's commands work; the next role's commands are refused with exit code 4 and a message that
names the missing permission; no role can read a token, a secret or decrypt one."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from igpub.accounts import Account
from igpub_cli.api import list_accounts, posts_repo
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from igpub_cli.main import main

ROLES = {"viewer": "ViewerPolicyArn", "poster": "PosterPolicyArn", "admin": "AdminPolicyArn"}


@pytest.fixture(scope="module")
def people(dep: Deployment) -> Iterator[dict[str, dict[str, str]]]:
    """One IAM user per role, with only that role's managed policy attached, and an access key each."""
    iam = dep.client("iam")
    made: dict[str, dict[str, str]] = {}
    suffix = uuid.uuid4().hex[:8]
    for role, output in ROLES.items():
        name = f"igpub-{role}-{suffix}"
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=dep.output(output))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        made[role] = {"user": name, "policy": dep.output(output), "key": key["AccessKeyId"],
                      "secret": key["SecretAccessKey"]}
    yield made
    for person in made.values():
        iam.delete_access_key(UserName=person["user"], AccessKeyId=person["key"])
        iam.detach_user_policy(UserName=person["user"], PolicyArn=person["policy"])
        iam.delete_user(UserName=person["user"])


class As:
    """Run the CLI (or boto3) with one person's credentials."""

    def __init__(self, person: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 dep: Deployment) -> None:
        self.person, self.mp, self.capsys, self.dep = person, monkeypatch, capsys, dep

    def run(self, *argv: str) -> tuple[int, str, str]:
        with self.mp.context() as mp:
            mp.setenv("AWS_ACCESS_KEY_ID", self.person["key"])
            mp.setenv("AWS_SECRET_ACCESS_KEY", self.person["secret"])
            self.capsys.readouterr()
            code = main(list(argv))
            out = self.capsys.readouterr()
        return code, out.out, out.err

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.dep.endpoint_url, region_name=self.dep.region,  # type: ignore[call-overload]
                            aws_access_key_id=self.person["key"], aws_secret_access_key=self.person["secret"])


@pytest.fixture
def as_role(people: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            dep: Deployment) -> Any:
    return lambda role: As(people[role], monkeypatch, capsys, dep)


def refused(result: tuple[int, str, str], action: str) -> None:
    code, _out, err = result
    assert code == 4, result
    assert "not permitted" in err and action in err, err
    assert "Traceback" not in err and err.count("igpub:") == 1


def later(hours: int = 2) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


@pytest.fixture
def engaged(dep: Deployment, fake: FakeInstagram) -> Account:
    """The demo account connected with the comments and insights permissions."""
    assert walk_connect_flow(dep, features="comments,insights").status_code == 200
    return next(a for a in list_accounts(dep) if a.username == "igpub_demo")


def test_poster_posts_watches_cancels_and_reads(
    dep: Deployment, fake: FakeInstagram, engaged: Account, as_role: Any, tmp_path: Path
) -> None:
    account = engaged
    poster = as_role("poster")
    code, out, err = poster.run("accounts", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert account.account_id in [a["account_id"] for a in listed]
    assert "token_ciphertext" not in out
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(httpx.get(fake.cdn("image.jpg", w=1080, h=1080), timeout=10).content)
    code, out, err = poster.run("post", "--account", account.account_id, "--file", str(photo), "--caption", "poster")
    assert code == 0, (out, err)
    assert "permalink: https://www.instagram.com/p/" in out
    code, out, err = poster.run("posts", "--json", "--limit", "1")
    assert code == 0, err
    (newest,) = json.loads(out)
    assert newest["status"] == "published"
    code, out, err = poster.run("insights", newest["post_id"], "--json")
    assert code == 0, err
    assert json.loads(out)["post_id"] == newest["post_id"]
    code, out, err = poster.run("comments", "list", newest["post_id"], "--json")
    assert code == 0, err
    assert json.loads(out) == []
    # a scheduled post, cancelled and rescheduled (the conditional writes and StopExecution)
    post_id = f"people-{uuid.uuid4().hex[:6]}"
    code, out, err = poster.run("post", "--account", account.account_id, "--url", fake.cdn("image.jpg", w=1080, h=1080),
                                "--publish-at", later(), "--client-post-id", post_id, "--no-wait")
    assert code == 0, (out, err)
    deadline = time.monotonic() + 60
    while posts_repo(dep).get(post_id) is None:  # Prepare records it within seconds
        assert time.monotonic() < deadline, "the scheduled post was never recorded"
        time.sleep(0.5)
    code, out, err = poster.run("reschedule", post_id, "--publish-at", later(3))
    assert code == 0, (out, err)
    code, out, err = poster.run("cancel", post_id)
    assert code == 0, (out, err)
    assert json.loads(poster.run("posts", "--json", "--limit", "1")[1])[0]["status"] == "cancelled"


def test_poster_is_refused_what_admins_do(account: Account, fake: FakeInstagram, as_role: Any) -> None:
    poster = as_role("poster")
    refused(poster.run("connect", "--label", "not mine"), "dynamodb:PutItem")
    refused(poster.run("refresh"), "lambda:InvokeFunction")
    refused(poster.run("hashtags", "add", "travel", "sunrise", "--account", account.account_id),
            "dynamodb:UpdateItem")
    refused(poster.run("alarms"), "cloudwatch:DescribeAlarms")


def test_admin_connects_refreshes_and_keeps_pools(account: Account, fake: FakeInstagram, as_role: Any) -> None:
    admin = as_role("admin")
    code, out, err = admin.run("connect", "--label", "Client B")
    assert code == 0, err
    assert "?invite=" in out
    code, out, err = admin.run("refresh", "--json")
    assert code in (0, 1), err  # 1 only when a token could not be refreshed: the call itself was permitted
    assert "not permitted" not in err
    pool = f"p{uuid.uuid4().hex[:6]}"
    assert admin.run("hashtags", "add", pool, "sunrise", "--account", account.account_id)[0] == 0
    code, out, err = admin.run("hashtags", "list", "--account", account.account_id, "--json")
    assert code == 0, err
    assert pool in out
    code, out, err = admin.run("alarms", "--json")
    assert "not permitted" not in err
    assert all(a["name"].startswith("igpub-local-") for a in json.loads(out))
    # and a post with the pool's hashtags: the pool check reads the pool, never the Facebook token
    code, out, err = admin.run("post", "--account", account.account_id, "--url", fake.cdn("image.jpg", w=1080, h=1080),
                               "--hashtag-pool", pool, "--hashtag-count", "1", "--no-wait")
    assert code == 0, (out, err)


def test_viewer_reads_and_is_refused_posting(account: Account, fake: FakeInstagram, as_role: Any) -> None:
    viewer = as_role("viewer")
    code, out, err = viewer.run("accounts")
    assert code == 0, err
    assert f"@{account.username}" in out
    assert viewer.run("posts", "--limit", "3")[0] == 0
    refused(viewer.run("post", "--account", account.account_id, "--url", fake.cdn("image.jpg", w=1080, h=1080)),
            "states:StartExecution")
    refused(viewer.run("comments", "list", "no-such-post"), "lambda:InvokeFunction")


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reads_a_token_a_secret_or_decrypts(dep: Deployment, account: Account, as_role: Any, role: str) -> None:
    person = as_role(role)
    ddb, table = person.client("dynamodb"), dep.output("AccountsTableName")
    key = {"account_id": {"S": account.account_id}}
    for attempt in (
        lambda: ddb.get_item(TableName=table, Key=key),  # everything
        lambda: ddb.get_item(TableName=table, Key=key, ProjectionExpression="token_ciphertext"),
        lambda: ddb.scan(TableName=table),
        lambda: ddb.scan(TableName=table, ProjectionExpression="username, token_ciphertext"),
        lambda: ddb.query(TableName=dep.output("HashtagsTableName"), KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": f"ACCOUNT#{account.account_id}"}}),
        lambda: person.client("secretsmanager").get_secret_value(SecretId=dep.output("AppSecretArn")),
        lambda: person.client("kms").decrypt(KeyId=dep.output("TokenKeyId"), CiphertextBlob=b"x" * 64,
                                             EncryptionContext={"account_id": account.account_id}),
    ):
        with pytest.raises(ClientError) as denied:
            attempt()
        assert denied.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
    # what the CLI reads is allowed: the public attributes
    item = ddb.get_item(TableName=table, Key=key, ProjectionExpression="account_id, username")["Item"]
    assert item["username"]["S"] == account.username
