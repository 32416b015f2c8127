"""One table of exit codes that every command follows (issue 20; README "Exit codes"): a test per code through
the deployed local stack, and the outputs that used to mislead (a permission error that did not say which command
fixes it, "No posts yet" for an unknown account, exit 1 for refused input)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from igpub_cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, out.out, out.err


@pytest.fixture
def published(dep: Deployment, account: Account, fake: FakeInstagram) -> api.PostRecord:
    rec = api.publish_post(dep, {"account_id": account.account_id, "kind": "image",
                                 "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}]}, timeout_s=240)
    assert rec.status == "published", rec
    return rec


# ------------------------------------------------------------------------------------------- 0
def test_0_done(dep: Deployment, account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "accounts")
    assert code == 0 and account.account_id in out


# ------------------------------------------------------------------------------------------- 1
def test_1_the_work_failed(dep: Deployment, account: Account, fake: FakeInstagram,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "post", "--account", account.account_id, "--url", fake.cdn("missing.jpg"))
    assert code == 1, err
    assert err.count("igpub: ") == 1 and "FAILED" in err


# ------------------------------------------------------------------------------------------- 2
@pytest.mark.parametrize("argv", [
    ("refresh", "123"),
    ("posts", "--account", "999"),
    ("post", "--account", "999", "--url", "https://example.com/a.jpg"),
    ("insights", "--account", "ACCOUNT", "--since", "-40d"),
    ("insights", "--account", "ACCOUNT", "--since", "yesterday-ish"),
    ("comments", "reply", "17999999999999999", "#a " * 31, "--account", "ACCOUNT"),
    ("reschedule", "no-such-post", "--publish-at", "+1h"),
])
def test_2_refused_input(argv: tuple[str, ...], dep: Deployment, account: Account, fake: FakeInstagram,
                         capsys: pytest.CaptureFixture[str]) -> None:
    fake.clear_calls()
    argv = tuple(account.account_id if a == "ACCOUNT" else a for a in argv)
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("igpub: refused") or err.startswith("igpub: "), err
    assert "nothing was started" not in err or argv[0] == "post"
    assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == [], "refused before any call"


def test_2_an_unknown_comment_id_is_refused_with_advice_for_comments(
    published: api.PostRecord, capsys: pytest.CaptureFixture[str], dep: Deployment, fake: FakeInstagram,
) -> None:
    walk_connect_flow(dep, features="comments")
    code, _, err = run(capsys, "comments", "reply", "17999999999999999", "Thanks!", "--account",
                       published.account_id)
    assert code == 2, err
    assert "comment id" in err and "post's options" not in err, err


def test_2_a_missing_permission_names_the_command_that_grants_it(
    published: api.PostRecord, capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo account is connected without the comments permission (the `account` fixture)."""
    code, _, err = run(capsys, "comments", "list", published.post_id)
    assert code == 2, err
    assert f"igpub connect --account {published.account_id} --with comments" in err, err
    assert "post's options" not in err


# ------------------------------------------------------------------------------------------- 3
def test_3_no_deployment(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGPUB_STACK_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # no AWS call leaves this machine
    code, _, err = run(capsys, "accounts")
    assert code == 3, err
    assert "none.json does not exist" in err and "IGPUB_STACK" in err


# ------------------------------------------------------------------------------ re-connect keeps scopes
def test_a_reconnect_keeps_the_permissions_the_account_has(
    dep: Deployment, fake: FakeInstagram, capsys: pytest.CaptureFixture[str],
) -> None:
    resp = walk_connect_flow(dep, features="comments,insights")
    assert resp.status_code == 200, resp.text
    demo = next(a for a in api.list_accounts(dep) if a.username == "igpub_demo")
    assert "instagram_business_manage_comments" in demo.scopes
    code, out, err = run(capsys, "connect", "--account", demo.account_id)
    assert code == 0, err
    link = out.strip().splitlines()[-1]
    assert parse_qs(urlsplit(link).query)["with"] == ["comments,insights"]
    assert walk_connect_flow(dep, invite_url=link).status_code == 200
    again = next(a for a in api.list_accounts(dep) if a.username == "igpub_demo")
    assert again.token_version > demo.token_version
    assert {"instagram_business_manage_comments", "instagram_business_manage_insights"} <= set(again.scopes)
    # a plain invite asks for publishing only: the page says what the account lost and how to get it back
    page = walk_connect_flow(dep)
    assert page.status_code == 200
    assert "instagram_business_manage_comments" in page.text
    assert f"igpub connect --account {demo.account_id}" in page.text
    assert os.environ.get("IGPUB_ACCOUNT") is None


# ------------------------------------------------------------------------------ hashtags
def test_hashtags_add_counts_only_new_tags_and_discover_without_facebook_is_refused(
    dep: Deployment, account: Account, fake: FakeInstagram, capsys: pytest.CaptureFixture[str],
) -> None:
    pool = f"p{os.getpid()}x{len(fake.users())}"
    code, out, err = run(capsys, "hashtags", "add", pool, "one", "two", "--account", account.account_id)
    assert code == 0 and "added 2 hashtag(s)" in out, (out, err)
    code, out, err = run(capsys, "hashtags", "add", pool, "two", "three", "--account", account.account_id)
    assert code == 0 and "added 1 hashtag(s)" in out and "already in it: two" in out, (out, err)
    fake.clear_calls()
    code, out, err = run(capsys, "hashtags", "discover", "sunrise", "--account", "17841499999999999")
    assert code == 2, (out, err)
    assert [c for c in fake.calls() if c["host"] == "graph.facebook.com"] == []
