"""Only invited people connect, through the deployed stack (API Gateway -> OAuth Lambda -> DynamoDB):
without a valid invite, /connect and /connect/facebook answer 403 with a clear page, store nothing
and never reach Instagram; an invite is spent when its sign-in completes, and only then."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from igpub.repositories.invites import digest
from igpub_cli.api import create_invite
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow


def count(dep: Deployment, output: str) -> int:
    return int(dep.client("dynamodb").scan(TableName=dep.output(output), Select="COUNT")["Count"])


def invite_item(dep: Deployment, url: str) -> dict[str, Any]:
    invite = parse_qs(urlsplit(url).query)["invite"][0]
    item = dep.client("dynamodb").get_item(
        TableName=dep.output("InvitesTableName"), Key={"invite_hash": {"S": digest(invite)}}, ConsistentRead=True
    )
    return dict(item.get("Item") or {})


def get(url: str) -> httpx.Response:
    return httpx.get(url, follow_redirects=False, timeout=30)


def consent(authorize_url: str) -> str:
    resp = get(authorize_url)
    assert resp.status_code == 302, resp.text
    return str(resp.headers["location"]).split("#", 1)[0]


def assert_refused(dep: Deployment, fake: FakeInstagram, url: str, *, says: str) -> None:
    """403 with a clear HTML page, no OAuth state, no account, no call to Instagram (or Meta)."""
    states, accounts = count(dep, "OAuthStatesTableName"), count(dep, "AccountsTableName")
    fake.clear_calls()
    resp = get(url)
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert says in resp.text
    assert "invite" in resp.text.lower()
    assert "location" not in resp.headers
    assert count(dep, "OAuthStatesTableName") == states
    assert count(dep, "AccountsTableName") == accounts
    assert fake.calls() == []


@pytest.mark.parametrize("route", ["ConnectUrl", "FacebookConnectUrl"])
def test_no_invite_is_refused(dep: Deployment, fake: FakeInstagram, route: str) -> None:
    assert_refused(dep, fake, dep.output(route), says="An invite is needed to connect")
    assert_refused(dep, fake, dep.output(route) + "?invite=", says="An invite is needed to connect")


@pytest.mark.parametrize("route", ["ConnectUrl", "FacebookConnectUrl"])
def test_a_forged_invite_is_refused(dep: Deployment, fake: FakeInstagram, route: str) -> None:
    real = create_invite(dep, facebook=route == "FacebookConnectUrl").url
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    assert_refused(dep, fake, forged, says="This invite link is not valid")
    assert_refused(dep, fake, dep.output(route) + "?invite=" + "x" * 500, says="This invite link is not valid")


def test_an_expired_invite_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    eight_days_ago = int(time.time()) - 8 * 86400
    url = create_invite(dep, label="Client late", now=eight_days_ago).url  # valid 7 days
    assert_refused(dep, fake, url, says="This invite link has expired")
    assert "used_at" not in invite_item(dep, url)


def test_an_invite_for_the_other_connection_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    instagram = create_invite(dep).url
    invite = parse_qs(urlsplit(instagram).query)["invite"][0]
    assert_refused(dep, fake, f"{dep.output('FacebookConnectUrl')}?invite={invite}",
                   says="This invite is for another connection")


def test_a_used_invite_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    url = create_invite(dep, label="Client A").url
    assert walk_connect_flow(dep, invite_url=url).status_code == 200
    user_id = next(u["user_id"] for u in fake.users() if u["username"] == "igpub_demo")
    item = invite_item(dep, url)
    assert "used_at" in item and item["account_id"]["S"] == str(user_id)
    assert item["label"]["S"] == "Client A"
    assert_refused(dep, fake, url, says="This invite link was already used")


def test_two_sign_ins_with_one_invite_connect_once(dep: Deployment, fake: FakeInstagram) -> None:
    url = create_invite(dep).url
    first, second = get(url), get(url)  # the link opened twice before finishing
    assert first.status_code == second.status_code == 302
    first_callback = consent(first.headers["location"])
    second_callback = consent(second.headers["location"])
    assert get(first_callback).status_code == 200
    accounts = count(dep, "AccountsTableName")
    fake.clear_calls()
    late = get(second_callback)
    assert late.status_code == 403
    assert "already used" in late.text
    assert [c for c in fake.calls() if c["host"] in ("api.instagram.com", "graph.instagram.com")] == []
    assert count(dep, "AccountsTableName") == accounts


def test_a_sign_in_that_fails_leaves_the_invite_usable(dep: Deployment, fake: FakeInstagram) -> None:
    url = create_invite(dep).url
    fake.config(consent_mode="deny")
    denied = get(consent(get(url).headers["location"]))
    assert denied.status_code == 400 and "not granted" in denied.text
    assert "used_at" not in invite_item(dep, url)
    fake.config(consent_mode="auto_approve")
    assert walk_connect_flow(dep, invite_url=url).status_code == 200
    assert "used_at" in invite_item(dep, url)


def test_the_invite_is_stored_as_a_digest_only(dep: Deployment) -> None:
    url = create_invite(dep, label="Client B").url
    invite = parse_qs(urlsplit(url).query)["invite"][0]
    assert len(invite) >= 40
    items = dep.client("dynamodb").scan(TableName=dep.output("InvitesTableName"))["Items"]
    assert all(invite not in str(i) for i in items)
    assert invite_item(dep, url)["label"]["S"] == "Client B"
