"""Helpers for the local stack: drive the fake Instagram's control API, and walk the OAuth flow
the way a browser does (the fake's consent page auto-approves). Used by `make demo` and the tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from igpub_cli.api import create_invite
from igpub_cli.deployment import Deployment


class FakeInstagram:
    """Client of the fake Instagram's control API (/_fake/...)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def _ok(self, resp: httpx.Response) -> Any:
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def _data(self, resp: httpx.Response) -> Any:
        return self._ok(resp)["data"]

    def reset(self) -> Any:
        return self._ok(self.http.post("/_fake/reset"))

    def config(self, **values: Any) -> Any:
        return self._ok(self.http.post("/_fake/config", json=values))

    def get_config(self) -> Any:
        return self._ok(self.http.get("/_fake/config"))

    def advance(self, seconds: float) -> Any:
        return self._ok(self.http.post("/_fake/clock/advance", json={"seconds": seconds}))

    def users(self) -> Any:
        return self._data(self.http.get("/_fake/users"))

    def create_user(self, username: str, **extra: Any) -> Any:
        return self._ok(self.http.post("/_fake/users", json={"username": username, **extra}))

    def tokens(self, user_id: str) -> Any:
        return self._data(self.http.get(f"/_fake/users/{user_id}/tokens"))

    def media(self, user_id: str | None = None) -> Any:
        """Published media (posts), without carousel children."""
        items = self._data(self.http.get("/_fake/media", params={"user_id": user_id} if user_id else None))
        return [m for m in items if not m.get("is_carousel_child") and not m.get("deleted")]

    def containers(self) -> Any:
        return self._data(self.http.get("/_fake/containers"))

    def calls(self) -> Any:
        return self._data(self.http.get("/_fake/calls"))

    def clear_calls(self) -> Any:
        return self._ok(self.http.delete("/_fake/calls"))

    def faults(self, rules: list[dict[str, Any]]) -> Any:
        return self._ok(self.http.post("/_fake/faults", json=rules))

    def get_faults(self) -> Any:
        return self._data(self.http.get("/_fake/faults"))

    def clear_faults(self) -> Any:
        return self._ok(self.http.delete("/_fake/faults"))

    # engagement: the audience, insights and webhook deliveries
    def add_comment(self, media_id: str, text: str, **extra: Any) -> Any:
        """An audience member comments on (or, with parent_id, replies under) the account's media."""
        return self._ok(self.http.post(f"/_fake/media/{media_id}/comments", json={"text": text, **extra}))

    def comments(self, media_id: str | None = None) -> Any:
        return self._data(self.http.get("/_fake/comments", params={"media_id": media_id} if media_id else None))

    def set_insights(self, media_id: str, **values: Any) -> Any:
        return self._ok(self.http.post(f"/_fake/media/{media_id}/insights", json=values))

    def deliver_webhooks(self) -> Any:
        """Send the webhook notifications that are due (and the retries due on the fake's clock)."""
        return self._data(self.http.post("/_fake/webhooks/deliver", timeout=60))

    def webhook_deliveries(self) -> Any:
        return self._data(self.http.get("/_fake/webhooks/deliveries"))

    def send_webhook(self, changes: list[dict[str, Any]], signature: str = "valid", **extra: Any) -> Any:
        return self._ok(self.http.post("/_fake/webhooks/send",
                                       json={"changes": changes, "signature": signature, **extra}))

    def verify_webhook(self, verify_token: str | None = None, challenge: int = 1158201444) -> Any:
        body: dict[str, Any] = {"challenge": challenge}
        if verify_token is not None:
            body["verify_token"] = verify_token
        return self._ok(self.http.post("/_fake/webhooks/verify", json=body, timeout=60))

    def user_settings(self, user_id: str, **values: Any) -> Any:
        return self._ok(self.http.post(f"/_fake/users/{user_id}/settings", json=values))

    # Meta's deauthorize and data deletion callbacks (local/fakeig/deauth.py)
    def remove_app(self, user: str, **options: Any) -> Any:
        """The person removes the app: their tokens answer 190 from now on, then the deauthorize callback
        is POSTed. Options: login, signature (valid|wrong_secret|missing), algorithm, tamper, id, revoke."""
        return self._ok(self.http.post(f"/_fake/users/{user}/remove-app", json=options, timeout=60))

    def request_deletion(self, user: str, **options: Any) -> Any:
        """The person asks for their data to be deleted: the data deletion callback is POSTed."""
        return self._ok(self.http.post(f"/_fake/users/{user}/request-deletion", json=options, timeout=60))

    def cdn(self, path: str, **params: Any) -> str:
        return f"{self.base_url}/cdn/{path}" + (f"?{urlencode(params)}" if params else "")


def set_wait_scale(emulator_url: str, scale: float) -> None:
    """Scale the emulator's Step Functions Wait states (1 = real time, 0.02 = a 5 s Wait takes 0.1 s)."""
    httpx.post(
        f"{emulator_url}/_ministack/config", json={"stepfunctions._SFN_WAIT_SCALE": scale}, timeout=5
    ).raise_for_status()


def _with_param(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def walk_connect_flow(
    dep: Deployment, *, login_as: str | None = None, log: Any = None, invite_url: str | None = None,
    features: str | None = None,
) -> httpx.Response:
    """Create an invite (as `igpub connect` does) unless one is given, then GET its link (/connect) ->
    the (fake) authorize page -> the callback, like a browser; returns the callback's response (an HTML page).
    ``features``: e.g. "comments,insights,webhooks" (as `igpub connect --with`)."""
    say = log or (lambda _m: None)
    if invite_url is None:
        invite_url = create_invite(dep, label=login_as or "").url
        say("   invite created (igpub connect): a single-use link to /connect")
    if features:
        invite_url = _with_param(invite_url, **{"with": features})
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        first = http.get(invite_url)
        if first.status_code != 302:
            raise RuntimeError(f"/connect answered {first.status_code}: {first.text[:200]}")
        authorize = first.headers["location"]
        say(f"   /connect -> 302 to Instagram's authorize page ({urlsplit(authorize).path})")
        if login_as:
            authorize = _with_param(authorize, login_as=login_as)
        consent = http.get(authorize)
        if consent.status_code != 302:
            raise RuntimeError(f"authorize page answered {consent.status_code}: {consent.text[:200]}")
        callback = consent.headers["location"].split("#", 1)[0]  # browsers never send the fragment
        say("   consent given -> 302 back to igpub's /oauth/callback with a one-time code")
        return http.get(callback)


def _main(argv: list[str] | None = None) -> int:
    """``python -m igpub_cli.local connect --as USERNAME [--with comments,insights]``: connect one of the fake's
    accounts (created on first use) through the deployed OAuth flow, as a browser would; the local stack only."""
    import argparse

    from igpub_cli.api import list_accounts

    parser = argparse.ArgumentParser(prog="python -m igpub_cli.local", description=_main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    conn = sub.add_parser("connect", help="connect a fake Instagram account to the local stack")
    conn.add_argument("--as", dest="login_as", default="igpub_demo", help="the fake account's username")
    conn.add_argument("--with", dest="features", default=None, help="comments,insights,webhooks")
    args = parser.parse_args(argv)
    dep = Deployment.load()
    if not dep.local:
        parser.error("this connects the fake Instagram's accounts: it needs the local stack (make up)")
    resp = walk_connect_flow(dep, login_as=args.login_as, features=args.features)
    if resp.status_code != 200:
        print(f"connect failed: {resp.status_code} {resp.text[:300]}")
        return 1
    account = next(a for a in list_accounts(dep) if a.username == args.login_as)
    print(f"connected @{account.username} ({account.account_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
