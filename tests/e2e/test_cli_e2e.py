"""The `igpub` CLI against the local stack."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from igpub.accounts import Account
from igpub.repositories.invites import digest
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
    assert all(invite not in json.dumps(i) for i in items)
    (mine,) = [i for i in items if i["invite_hash"]["S"] == digest(invite)]
    assert mine["label"]["S"] == "Client A"
    assert abs(int(mine["expires_at"]["N"]) - int(mine["created_at"]["N"]) - 2 * 86400) <= 1
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


def test_posts_table_has_a_header_and_json_nests_the_request(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["post", "--account", account.account_id, "--url", fake.cdn("image.jpg", w=1080, h=1080),
                 "--caption", "table test"])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["posts", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "POST ID" in out.splitlines()[1] and "STATUS" in out.splitlines()[1]
    assert "published" in out
    assert main(["posts", "--json", "--limit", "1"]) == 0
    newest = json.loads(capsys.readouterr().out)[0]
    assert isinstance(newest["request"], dict)
    assert newest["request"]["caption"] == "table test" and newest["request"]["media"][0]["url"].startswith("http")


def test_a_failed_post_is_reported_once_with_exit_code_1(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["post", "--account", account.account_id, "--url", fake.cdn("image.jpg", w=2000, h=800)])  # 2.5:1
    captured = capsys.readouterr()
    assert code == 1, captured
    both = captured.out + captured.err
    assert both.count("cannot be published") == 1 and captured.err.count("FAILED") == 1
    assert "Traceback" not in captured.err
    assert "FAILED" not in captured.out


def test_post_many_requests_from_a_folder(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def req(seed: int, **kw: int) -> dict[str, object]:
        return {"account_id": account.account_id, "kind": "image", "caption": f"batch {seed}",
                "media": [{"url": fake.cdn("image.jpg", w=kw.get("w", 1080), h=kw.get("h", 1080), seed=seed)}]}

    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([req(1), req(2)]))
    (folder / "b.json").write_text(json.dumps(req(3, w=2000, h=800)))  # 2.5:1: Instagram refuses it
    (folder / "notes.txt").write_text("not a request")
    code = main(["post", "--request", str(folder)])
    captured = capsys.readouterr()
    assert code == 1, captured  # one post failed
    assert "3/3" in captured.err  # the progress bar's count
    lines = captured.out.splitlines()
    assert "3 posts: 2 published, 1 not published" in lines[0]
    assert any("SOURCE" in line and "STATUS" in line for line in lines[:4])
    rows = [line for line in lines if "a.json[" in line or "b.json" in line]
    assert len(rows) == 3
    assert sum("published" in r and "instagram.com/p/" in r for r in rows) == 2
    assert "aspect ratio" in next(r for r in rows if "b.json" in r)
    assert len(fake.media(account.account_id)) == 2


def test_post_many_refuses_the_whole_batch_when_one_request_is_bad(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = {"account_id": account.account_id, "kind": "image", "media": [{"url": fake.cdn("image.jpg", w=1080,
                                                                                         h=1080)}]}
    bad = {**good, "account_id": "424242"}
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([good, bad, {**good, "kind": "carousel"}]))
    fake.clear_calls()
    code = main(["post", "--request", str(batch)])
    err = capsys.readouterr().err
    assert code == 2
    assert "batch.json[1]: account 424242 is not connected" in err and "batch.json[2]: " in err
    assert "batch.json[0]" not in err
    assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == []
