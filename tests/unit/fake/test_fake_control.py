"""Usage headers and throttling, fault injection, the call log, the control API and the /cdn host."""

from __future__ import annotations

import io
import json
import threading
import time

import httpx
import pytest
from fake_helpers import IG, error_of
from PIL import Image

from fakeig.cdn import read_mp4_duration
from fakeig.server import _safe_path
from fakeig.testing import running_fake

# ---------------------------------------------------------------------------------------------
# Rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/)


def test_usage_headers(user: IG) -> None:
    user.config(hourly_call_budget=10)
    resp = user.get("/me")
    buc = json.loads(resp.headers["X-Business-Use-Case-Usage"])
    # login made one graph call (/me), this is the second
    assert buc == {
        user.user_id: [
            {"type": "instagram", "call_count": 20, "total_cputime": 10, "total_time": 10,
             "estimated_time_to_regain_access": 0}
        ]
    }
    app_usage = json.loads(resp.headers["X-App-Usage"])
    assert app_usage["call_count"] == 20
    error_resp = user.get("/me", fields="nope")
    assert "X-Business-Use-Case-Usage" in error_resp.headers
    user.config(usage_headers=False)
    assert "X-App-Usage" not in user.get("/me").headers


def test_throttle_80002_then_regained(user: IG) -> None:
    user.config(hourly_call_budget=5)
    for _ in range(4):
        assert user.get("/me").status_code == 200
    throttled = user.get("/me")
    err = error_of(throttled)
    assert err["code"] == 80002 and err["is_transient"] is False
    buc = json.loads(throttled.headers["X-Business-Use-Case-Usage"])[user.user_id][0]
    assert buc["call_count"] == 100 and buc["estimated_time_to_regain_access"] > 0
    user.advance(3601)
    assert user.get("/me").status_code == 200


@pytest.mark.parametrize(("code", "transient"), [(4, True), (17, False)])
def test_throttle_code_configurable(user: IG, code: int, transient: bool) -> None:
    user.config(hourly_call_budget=1, throttle_code=code)
    err = error_of(user.get("/me"))
    assert (err["code"], err["is_transient"]) == (code, transient)


# ---------------------------------------------------------------------------------------------
# Faults


def test_fault_http_500_and_503_times(user: IG) -> None:
    user.fake.faults({"match": r"^GET /me$", "kind": "http_500", "times": 1},
                     {"match": r"^GET /me$", "kind": "http_503", "times": 1})
    assert user.get("/me").status_code == 500
    assert user.get("/me").status_code == 503
    assert user.get("/me").status_code == 200
    rules = user.ctl("GET", "/faults")["data"]
    assert [r["fired"] for r in rules] == [1, 1]


def test_fault_graph_error_transient_read_and_throttle(user: IG) -> None:
    cid = user.image()
    user.fake.faults(
        {"match": "POST /\\d+/media$", "kind": "graph_error", "code": -1, "subcode": 2207001,
         "message": "An unexpected error has occurred.", "is_transient": True, "times": 1},
        {"match": f"/{cid}$", "kind": "transient_read", "times": 1},
        {"match": "content_publishing_limit", "kind": "throttle", "code": 4, "times": 1},
    )
    err = error_of(user.create(image_url=user.cdn("image.jpg")))
    assert (err["code"], err["error_subcode"], err["is_transient"]) == (-1, 2207001, True)
    read = error_of(user.get(f"/{cid}", fields="status_code"))
    assert (read["code"], read["error_subcode"]) == (100, 33)
    assert user.status(cid)["status_code"] == "FINISHED"
    thr = error_of(user.get(f"/{user.user_id}/content_publishing_limit"))
    assert (thr["code"], thr["is_transient"]) == (4, True)


def test_fault_drop_after_publishes_but_client_sees_connection_error(user: IG) -> None:
    cid = user.image()
    user.fake.faults({"match": r"POST /\d+/media_publish", "kind": "drop_after", "times": 1})
    with pytest.raises(httpx.TransportError):
        user.publish(cid)
    assert user.status(cid)["status_code"] == "PUBLISHED"
    media = user.ctl("GET", "/media", params={"user_id": user.user_id})["data"]
    assert [m["container_id"] for m in media] == [cid]
    calls = [c for c in user.fake.calls() if c["route"].endswith("/media_publish")]
    assert calls[-1]["status"] == "dropped" and calls[-1]["fault"] == "drop_after"


@pytest.mark.parametrize("rule,status", [
    ({"kind": "http_500", "is_transient": False}, 500),
    ({"kind": "http_503"}, 503),
    ({"kind": "graph_error", "code": 2, "http_status": 400}, 400),
    ({"kind": "throttle", "code": 4}, 400),
    ({"kind": "empty"}, 200),
    ({"kind": "empty", "http_status": 201}, 201),
])
def test_fault_after_acts_then_answers_as_told(user: IG, rule: dict[str, object], status: int) -> None:
    cid = user.image()
    user.fake.faults({"match": r"^POST /\d+/media_publish$", "times": 1, "after": True, **rule})
    resp = user.publish(cid)
    assert resp.status_code == status
    if rule["kind"] == "empty":
        assert resp.content == b""  # a 2xx without a body: no media id
    assert user.status(cid)["status_code"] == "PUBLISHED"  # Instagram acted all the same
    media = user.ctl("GET", "/media", params={"user_id": user.user_id})["data"]
    assert [m["container_id"] for m in media] == [cid]
    calls = [c for c in user.fake.calls() if c["route"].endswith("/media_publish")]
    assert (calls[-1]["fault"], calls[-1]["status"]) == (rule["kind"], status)


def test_fault_empty_without_after_does_not_act(user: IG) -> None:
    cid = user.image()
    user.fake.faults({"match": r"^POST /\d+/media_publish$", "times": 1, "kind": "empty"})
    resp = user.publish(cid)
    assert resp.status_code == 200 and resp.content == b""
    assert user.status(cid)["status_code"] == "FINISHED"


def test_fault_after_is_refused_where_it_means_nothing(user: IG) -> None:
    for kind in ("drop_before", "drop_after", "timeout", "transient_read"):
        resp = user.http.post("/_fake/faults", json=[{"kind": kind, "after": True}])
        assert resp.status_code == 400, (kind, resp.text)


def test_fault_drop_before_does_not_publish(user: IG) -> None:
    cid = user.image()
    user.fake.faults({"match": "media_publish", "kind": "drop_before", "times": 1})
    with pytest.raises(httpx.TransportError):
        user.publish(cid)
    assert user.status(cid)["status_code"] == "FINISHED"
    assert user.publish(cid).status_code == 200


def test_fault_timeout_answers_after_sleep_or_hangs(user: IG) -> None:
    user.fake.faults({"match": "^GET /me$", "kind": "timeout", "seconds": 0.5, "times": 1})
    with pytest.raises(httpx.ReadTimeout):
        user.http.get("/graph.instagram.com/v25.0/me", params={"access_token": user.token}, timeout=0.2)
    started = time.monotonic()
    user.fake.faults({"match": "^GET /me$", "kind": "timeout", "seconds": 0.3, "times": 1})
    assert user.get("/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    user.fake.faults({"match": "^GET /me$", "kind": "timeout", "seconds": 0.1, "hang": True, "times": 1})
    with pytest.raises(httpx.TransportError):
        user.get("/me")


def test_fault_probability_is_deterministic_with_seed(user: IG) -> None:
    def run() -> list[int]:
        user.fake.faults({"match": "^GET /me$", "kind": "http_500", "probability": 0.5, "seed": 42})
        return [user.get("/me").status_code for _ in range(12)]

    first = run()
    assert run() == first
    assert 500 in first and 200 in first


def test_fault_host_filter_skip_and_clear(user: IG) -> None:
    user.fake.faults({"match": "^GET /me$", "host": "graph.facebook.com", "kind": "http_500"},
                     {"match": "^GET /me$", "kind": "http_503", "skip": 1, "times": 1})
    assert user.get("/me").status_code == 200  # skipped once
    assert user.get("/me").status_code == 503
    user.ctl("DELETE", "/faults")
    assert user.ctl("GET", "/faults")["data"] == []
    bad = user.http.post("/_fake/faults", json=[{"kind": "explode"}])
    assert bad.status_code == 400


def test_faults_append(user: IG) -> None:
    user.fake.faults({"match": "a", "kind": "http_500"})
    user.ctl("POST", "/faults", params={"append": "1"}, json=[{"match": "b", "kind": "http_503"}])
    assert [r["match"] for r in user.ctl("GET", "/faults")["data"]] == ["a", "b"]


# ---------------------------------------------------------------------------------------------
# Call log


def test_call_log_redacts_secrets(ig: IG) -> None:
    ig.login()
    ig.get("/me", fields="username")
    calls = ig.fake.calls()
    text = json.dumps(calls)
    assert ig.token not in text
    assert "local-app-secret" not in text
    exchange = next(c for c in calls if c["route"] == "/oauth/access_token")
    assert exchange["host"] == "api.instagram.com" and exchange["method"] == "POST"
    assert exchange["params"]["code"] == "REDACTED" and exchange["params"]["client_secret"] == "REDACTED"
    me = calls[-1]
    assert me["path"] == "/v25.0/me" and me["route"] == "/me"
    assert me["params"] == {"fields": "username", "access_token": "REDACTED"}
    assert me["status"] == 200 and isinstance(me["time"], float)
    assert [c["seq"] for c in calls] == sorted(c["seq"] for c in calls)
    ig.ctl("DELETE", "/calls")
    assert ig.fake.calls() == []


def test_call_log_host_filter(user: IG) -> None:
    user.image()
    assert {c["host"] for c in user.fake.calls("cdn")} == {"cdn"}


# ---------------------------------------------------------------------------------------------
# Control API


def test_config_get_patch_and_validation(ig: IG) -> None:
    cfg = ig.ctl("GET", "/config")
    assert cfg["quota_total"] == 100 and cfg["processing_seconds"]["REELS"] == 30
    patched = ig.config(processing_seconds={"REELS": 2})
    assert patched["processing_seconds"]["REELS"] == 2 and patched["processing_seconds"]["VIDEO"] == 5
    assert ig.http.post("/_fake/config", json={"nope": 1}).status_code == 400
    assert ig.http.post("/_fake/config", json={"throttle_code": 5}).status_code == 400
    ig.ctl("POST", "/reset", json={"keep_config": True})
    assert ig.ctl("GET", "/config")["processing_seconds"]["REELS"] == 2
    ig.ctl("POST", "/reset")
    assert ig.ctl("GET", "/config")["processing_seconds"]["REELS"] == 30


def test_clock(ig: IG) -> None:
    now = ig.ctl("GET", "/clock")["now"]
    assert abs(now - time.time()) < 5
    advanced = ig.ctl("POST", "/clock/advance", json={"seconds": 3600})["now"]
    assert 3599 < advanced - now < 3605
    ig.ctl("POST", "/clock/set", json={"now": 2_000_000_000})
    assert abs(ig.ctl("GET", "/clock")["now"] - 2_000_000_000) < 5


def test_users(ig: IG) -> None:
    created = ig.ctl("POST", "/users", json={"username": "creator", "account_type": "Media_Creator"})
    assert created["id"] != created["user_id"] and created["account_type"] == "Media_Creator"
    again = ig.ctl("POST", "/users", json={"username": "creator"})
    assert again["user_id"] == created["user_id"]
    names = {u["username"] for u in ig.ctl("GET", "/users")["data"]}
    assert names == {"igpub_demo", "creator"}
    assert ig.http.post("/_fake/users", json={"username": "x", "account_type": "Personal"}).status_code == 400
    assert ig.http.get("/_fake/users/nobody/tokens").status_code == 404
    ig.ctl("POST", "/reset")
    assert {u["username"] for u in ig.ctl("GET", "/users")["data"]} == {"igpub_demo"}


def test_containers_control(user: IG) -> None:
    cid = user.image(caption="c")
    items = user.ctl("GET", "/containers", params={"user_id": user.user_id})["data"]
    assert [(c["id"], c["status_code"], c["params"]["caption"]) for c in items] == [(cid, "FINISHED", "c")]
    assert "access_token" not in items[0]["params"]
    assert user.http.get("/_fake/nothing").status_code == 404


# ---------------------------------------------------------------------------------------------
# /cdn


def test_cdn_media(ig: IG) -> None:
    jpg = ig.http.get("/cdn/image.jpg?w=1080&h=1350")
    assert jpg.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpg.content)).size == (1080, 1350)
    png = ig.http.get("/cdn/image-2.png?w=100&h=50")
    assert png.content.startswith(b"\x89PNG")
    big = ig.http.get("/cdn/big.jpg?mb=9")
    assert len(big.content) == 9 * 1024 * 1024 and big.content.startswith(b"\xff\xd8\xff")
    video = ig.http.get("/cdn/video.mp4?seconds=7&mb=1")
    assert len(video.content) == 1024 * 1024 and video.content[4:8] == b"ftyp"
    assert read_mp4_duration(video.content) == 7
    head = ig.http.head("/cdn/video.mp4?mb=20")
    assert head.headers["content-length"] == str(20 * 1024 * 1024)
    assert ig.http.get("/cdn/missing.jpg").status_code == 404
    assert ig.http.get("/cdn/whatever.txt").status_code == 404
    assert ig.http.get("/cdn/image.jpg?status=500").status_code == 500
    assert ig.http.get("/nowhere/x").status_code == 404


def test_running_fake_helper() -> None:
    with running_fake() as base_url:
        assert httpx.get(f"{base_url}/_fake/health").json()["ok"] is True


def test_a_sleeping_fault_does_not_block_other_calls(user: IG) -> None:
    user.fake.faults({"match": "^GET /me$", "kind": "timeout", "seconds": 1.5, "times": 1})
    results: list[int] = []
    slow = threading.Thread(target=lambda: results.append(user.get("/me").status_code))
    slow.start()
    time.sleep(0.1)
    started = time.monotonic()
    with httpx.Client(base_url=user.base, timeout=5) as other:
        resp = other.get(f"/graph.instagram.com/v25.0/{user.user_id}", params={"access_token": user.token})
    assert resp.status_code == 200
    assert time.monotonic() - started < 1.0
    slow.join()
    assert results == [200]


def test_server_log_line_never_has_a_full_token() -> None:
    token = "IGAA" + "x" * 100
    line = _safe_path(f"/graph.instagram.com/v25.0/me?fields=id&access_token={token}&client_secret=abcdefghij")
    assert token not in line and "abcdefghij" not in line
    assert line.startswith("/graph.instagram.com/v25.0/me?fields=id&access_token=IGAAxx...")
