"""The fake's "person removes the app" and "person asks for deletion" (Meta's deauthorize and data deletion
callbacks, https://developers.facebook.com/docs/apps/delete-data): a correctly signed form POST to the
registered URL, the variants tests need, and tokens that answer 190 after a removal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fake_helpers import APP_SECRET, FB_APP_SECRET, IG, error_of

from igpub.connect.signed_request import SignedRequestRefused, verify


class _Callback:
    def __init__(self) -> None:
        self.forms: list[dict[str, list[str]]] = []
        self.content_types: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.forms.append(parse_qs(body))
                outer.content_types.append(self.headers["Content-Type"])
                answer = b'{"url": "https://example.test/status?code=ABC123", "confirmation_code": "ABC123"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def signed(self) -> str:
        return self.forms[-1]["signed_request"][0]


@pytest.fixture
def callback(ig: IG) -> Iterator[_Callback]:
    cb = _Callback()
    ig.config(deauthorize_callback_url=cb.url + "/ig/deauth", data_deletion_callback_url=cb.url + "/ig/delete",
              fb_deauthorize_callback_url=cb.url + "/fb/deauth", fb_data_deletion_callback_url=cb.url + "/fb/delete")
    yield cb
    cb.server.shutdown()
    cb.server.server_close()


def _me(user: IG) -> dict[str, Any]:
    return dict(user.get("/me", fields="user_id,id,username").json())


def test_removing_the_app_revokes_the_token_then_posts_a_signed_request(user: IG, callback: _Callback) -> None:
    me = _me(user)
    out = user.ctl("POST", f"/users/{me['username']}/remove-app", json={})
    assert out["status"] == 200 and out["revoked"] >= 1
    assert callback.content_types == ["application/x-www-form-urlencoded"]
    payload = verify(callback.signed(), [APP_SECRET]).payload
    assert payload["algorithm"] == "HMAC-SHA256" and payload["user_id"] == me["user_id"]
    assert {"issued_at", "expires"} <= set(payload)
    resp = user.get("/me", fields="user_id")
    assert resp.status_code in (400, 401) and error_of(resp)["code"] == 190
    assert error_of(resp)["error_subcode"] == 458


def test_a_deletion_request_answers_what_the_app_said_and_keeps_the_token(user: IG, callback: _Callback) -> None:
    me = _me(user)
    out = user.ctl("POST", f"/users/{me['username']}/request-deletion", json={})
    assert out["answer"] == {"url": "https://example.test/status?code=ABC123", "confirmation_code": "ABC123"}
    assert verify(callback.signed(), [APP_SECRET]).user_id == me["user_id"]
    assert user.get("/me", fields="user_id").status_code == 200


@pytest.mark.parametrize(("options", "refused"), [
    ({"signature": "wrong_secret"}, "bad signature"),
    ({"algorithm": "HMAC-SHA1"}, "unexpected algorithm"),
    ({"tamper": True}, "bad signature"),
    ({"signature": "missing"}, "malformed"),
])
def test_the_variants_fail_the_check_each_for_its_reason(
    user: IG, callback: _Callback, options: dict[str, Any], refused: str
) -> None:
    user.ctl("POST", f"/users/{_me(user)['username']}/remove-app", json={"revoke": False, **options})
    with pytest.raises(SignedRequestRefused, match=refused):
        verify(callback.signed(), [APP_SECRET, FB_APP_SECRET])
    assert user.get("/me", fields="user_id").status_code == 200  # revoke=False kept the token


def test_which_id_and_which_secret_are_configurable(user: IG, callback: _Callback) -> None:
    me = _me(user)
    user.ctl("POST", f"/users/{me['username']}/request-deletion", json={"id": "id"})
    assert verify(callback.signed(), [APP_SECRET]).user_id == me["id"]
    user.config(signed_request_secret="meta", signed_request_id="id")
    user.ctl("POST", f"/users/{me['username']}/request-deletion", json={})
    with pytest.raises(SignedRequestRefused):
        verify(callback.signed(), [APP_SECRET])
    assert verify(callback.signed(), [FB_APP_SECRET]).user_id == me["id"]


def test_facebook_login_posts_to_its_own_urls_with_the_facebook_user_id(user: IG, callback: _Callback) -> None:
    me = _me(user)
    fb_user_id = user.ctl("GET", f"/users/{me['username']}")["fb_user_id"]
    out = user.ctl("POST", f"/users/{me['username']}/remove-app", json={"login": "facebook"})
    assert out["url"].endswith("/fb/deauth")
    assert verify(callback.signed(), [FB_APP_SECRET]).user_id == fb_user_id
    assert user.get("/me", fields="user_id").status_code == 200  # the Instagram token is another app's grant


def test_without_a_registered_url_the_control_action_says_so(user: IG) -> None:
    resp = user.http.post(f"/_fake/users/{_me(user)['username']}/remove-app", json={})
    assert resp.status_code == 400 and "callback URL" in resp.text
