"""The `igpub` CLI against the local stack."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from igpub.accounts import Account
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from igpub_cli.main import main


def test_connect_prints_a_single_use_invite_link(
    dep: Deployment, fake: FakeInstagram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "--label", "Client A", "--days", "2"]) == 0
    out = capsys.readouterr()
    url = out.out.strip()
    assert url.startswith(dep.output("ConnectUrl") + "?invite=")
    assert "single-use invite for Client A, valid until" in out.err
    assert dep.output("OAuthRedirectUri") in out.err
    # the invite is stored as a digest only, with its label and a 2-day lifetime
    invite = url.split("invite=", 1)[1]
    items = dep.client("dynamodb").scan(TableName=dep.output("InvitesTableName"))["Items"]
    mine = [i for i in items if i.get("label", {}).get("S") == "Client A"]
    assert mine and all(invite not in json.dumps(i) for i in items)
    assert abs(int(mine[-1]["expires_at"]["N"]) - int(mine[-1]["created_at"]["N"]) - 2 * 86400) <= 1
    # the link opens the sign-in
    assert httpx.get(url, follow_redirects=False, timeout=30).status_code == 302


def test_accounts_json_has_expiry_and_no_token(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    mine = next(a for a in data if a["username"] == "igpub_demo")
    assert mine["status"] == "active"
    assert 59 <= mine["days_until_expiry"] <= 60
    text = json.dumps(data)
    assert "token_ciphertext" not in text
    assert all(t["token"] not in text for t in fake.tokens(account.account_id))
    assert main(["accounts"]) == 0
    assert "@igpub_demo" in capsys.readouterr().out


def test_post_shows_progress_and_permalink(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(httpx.get(fake.cdn("image.jpg", w=1080, h=1350), timeout=10).content)
    code = main(["post", "--account", account.account_id, "--kind", "image", "--file", str(photo),
                 "--caption", "from the CLI",
                 "--alt-text", "a photo"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "-> CreateContainers" in out and "-> Publish" in out
    permalink = next(line for line in out.splitlines() if line.startswith("permalink: "))
    assert permalink.startswith("permalink: https://www.instagram.com/p/")
    assert main(["posts", "--json"]) == 0
    posts = json.loads(capsys.readouterr().out)
    assert posts[0]["status"] == "published" and posts[0]["caption"] == "from the CLI"


def test_post_with_problems_is_not_submitted(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.clear_calls()
    code = main(["post", "--account", account.account_id, "--kind", "carousel",
                 "--url", fake.cdn("image.jpg", w=1080, h=1080),
                 "--caption", "#a " * 31])
    err = capsys.readouterr().err
    assert code == 2
    assert "not submitted" in err and "2" in err and "30" in err
    assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == []
