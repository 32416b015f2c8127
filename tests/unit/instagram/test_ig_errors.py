"""Error classification (code/subcode, never HTTP status), both envelopes, non-JSON bodies."""

from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
import pytest

from igpub.instagram.error_parsing import parse_error
from igpub.instagram.errors import (
    ERROR_TABLE,
    NOT_TRANSIENT,
    AuthError,
    ContainerExpiredError,
    HashtagLimitError,
    InstagramError,
    InvalidMediaError,
    InvalidRequestError,
    NetworkError,
    NotReadyError,
    OAuthConfigError,
    OAuthError,
    Operation,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    advice_for_subcode,
    classify,
    row_for,
)


def graph(
    code: int,
    subcode: int | None = None,
    *,
    status: int = 400,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    err: dict[str, Any] = {"message": f"error {code}", "type": "OAuthException", "code": code, **extra}
    if subcode is not None:
        err["error_subcode"] = subcode
    return httpx.Response(status, json={"error": err}, headers=headers)


OP = Operation
T, RL, AU, PD = TransientError, RateLimitedError, AuthError, PermissionDeniedError
IR, IM, CE, QE = InvalidRequestError, InvalidMediaError, ContainerExpiredError, QuotaExhaustedError

# One case (at least) per row of ERROR_TABLE, written out by hand so that a changed row fails a test:
# (code, subcode, op, class, default wait of a rate limit, POST /media may be resent, words of the advice)
Case = tuple[int, int | None, Operation | None, type[InstagramError], float | None, bool, str]
CASES: list[Case] = [
    (-2, 2207003, None, T, None, True, "took too long to download the media"),
    (-2, 2207020, None, CE, None, False, "container expired; create a new one"),
    (-1, 2207001, None, T, None, True, "server error; try again"),
    (-1, 2207032, None, T, None, True, "could not create the media; try again"),
    (-1, 2207053, None, CE, None, False, "video upload failed; create a new container"),
    (-1, 2207073, None, IR, None, False, "cannot delete this kind of media"),
    (1, 2207057, None, IM, None, False, "thumbnail offset must be at least 0"),
    (4, 2207051, OP.WRITE, RL, 3600.0, False, "possible spam; slow down"),
    (9, 2207042, OP.PUBLISH, QE, None, False, "publishing limit for the last 24 hours"),
    (24, 2207006, None, CE, None, False, "media was not found; the token may have expired"),
    (24, 2207008, None, CE, None, False, "container does not exist or expired"),
    (25, 2207050, None, PD, None, False, "account is restricted; its owner must resolve it"),
    (100, 2207023, None, IR, None, False, "media type is unknown"),
    (100, 2207028, None, IM, None, False, "at least 2 and at most 10"),
    (100, 2207035, None, IR, None, False, "product tag's position is invalid"),
    (100, 2207036, None, IR, None, False, "Product tags on an image need a position"),
    (100, 2207037, None, IR, None, False, "not in the account's approved catalog"),
    (100, 2207040, None, IM, None, False, "at most 20 @-mentions"),
    (100, 2207089, None, IM, None, False, "carousel item cannot be published on its own"),
    (100, 33, OP.READ, T, None, False, "temporary problem"),
    (100, 36007, None, OAuthError, None, False, "authorization code expired"),
    (100, 36009, None, OAuthError, None, False, "authorization code was already used"),
    (-1, 2207077, None, IM, None, False, "could not download the video"),
    (1, 2207082, None, IM, None, False, "could not process the video"),
    (100, 2207081, None, IR, None, False, "refused the trial reel"),
    (191, None, OP.OAUTH, OAuthConfigError, None, False, "configuration is wrong"),
    (101, None, OP.OAUTH, OAuthConfigError, None, False, "configuration is wrong"),
    (100, None, OP.OAUTH, OAuthError, None, False, "start the connection again"),
    (18, None, OP.HASHTAG_SEARCH, HashtagLimitError, None, False, "30 different hashtags"),
    (190, 458, None, AU, None, False, "removed the app"),
    (190, 459, None, AU, None, False, "checkpointed"),
    (190, 460, None, AU, None, False, "password changed"),
    (190, 463, None, AU, None, False, "access token expired"),
    (190, 464, None, AU, None, False, "not confirmed their account"),
    (190, 467, None, AU, None, False, "access token is invalid"),
    (190, 492, None, AU, None, False, "role on the Page changed"),
    (1, None, None, T, None, True, "temporary problem"),
    (2, None, None, T, None, True, "temporary problem"),
    (-1, 2209999, None, T, None, False, "temporary problem"),
    (-2, None, None, T, None, False, "temporary problem"),
    (4, None, None, RL, 300.0, False, "app made too many calls"),
    (17, None, None, RL, 300.0, False, "account made too many calls"),
    (32, None, None, RL, 300.0, False, "wait about 5 min"),
    (341, None, None, RL, 300.0, False, "wait about 5 min"),
    (613, 1996, None, RL, 300.0, False, "wait about 5 min"),
    (80002, None, None, RL, 900.0, False, "Too many calls for this Instagram account"),
    (80001, None, None, RL, 900.0, False, "wait about 15 min"),
    (80006, None, None, RL, 900.0, False, "wait about 15 min"),
    (368, None, None, RL, 3600.0, False, "temporarily blocked for policy reasons"),
    (190, None, None, AU, None, False, "authorisation is no longer valid"),
    (102, None, None, AU, None, False, "authorisation is no longer valid"),
    (3, None, None, PD, None, False, "lacks a permission"),
    (10, None, None, PD, None, False, "lacks a permission"),
    (200, None, None, PD, None, False, "lacks a permission"),
    (299, None, None, PD, None, False, "lacks a permission"),
    (24, None, None, CE, None, False, "expired or no longer exists"),
    (9, None, None, QE, None, False, "publishing limit"),
    (9007, 2207027, OP.PUBLISH, NotReadyError, None, False, "still being processed"),
    (9004, 2207052, None, IM, None, False, "could not fetch the media from its URL"),
    (36000, 2207004, None, IM, None, False, "at most 8 MB"),
    (36001, 2207005, None, IM, None, False, "use JPEG"),
    (36003, 2207009, None, IM, None, False, "between 4:5 and 1.91:1"),
    (36004, 2207010, None, IM, None, False, "at most 2200 characters"),
    (352, 2207026, None, IM, None, False, "use MOV or MP4"),
    (506, None, None, IR, None, False, "duplicate post"),
    (100, None, None, IR, None, False, "refused a parameter of the request"),
    (100, 33, OP.WRITE, IR, None, False, "refused a parameter of the request"),
    # what falls through the rows
    (18, None, OP.READ, IR, None, False, "rejected the request"),
    (300, None, None, IR, None, False, "rejected the request"),
    (12345, None, None, IR, None, False, "rejected the request"),
]


def _case_id(case: Case) -> str:
    return f"{case[0]}/{case[1]}/{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_error_table_row(case: Case) -> None:
    code, subcode, op, cls, wait, resend, advice = case
    err = parse_error(graph(code, subcode), op=op)
    assert type(err) is cls
    assert (err.code, err.subcode, err.http_status) == (code, subcode, 400)
    assert err.resend_safe is resend
    assert advice in err.advice
    assert classify(code, subcode, op=op) == (cls, wait)
    if isinstance(err, RateLimitedError):
        assert err.retry_after_s == wait


def test_every_row_has_a_case_of_its_own() -> None:
    first_rows = {id(row_for(code, subcode, op=op)) for code, subcode, op, *_ in CASES}
    untested = [row for row in ERROR_TABLE if id(row) not in first_rows]
    assert untested == []


def test_no_advice_is_written_twice() -> None:
    texts = [row.advice for row in ERROR_TABLE if row.advice]
    assert len(texts) == len(set(texts))


# ------------------------------------------------------------------ is_transient


@pytest.mark.parametrize(
    ("code", "subcode", "op"),
    [(1, None, None), (2, None, OP.WRITE), (-1, 2207001, None), (-2, 2207003, None), (-1, 2209999, None)],
)
def test_is_transient_false_is_never_transient(code: int, subcode: int | None, op: Operation | None) -> None:
    err = parse_error(graph(code, subcode, is_transient=False), op=op)
    assert type(err) is InvalidRequestError
    assert err.resend_safe is False
    assert err.is_transient is False
    assert "not temporary" in err.advice
    assert err.advice == NOT_TRANSIENT.advice


@pytest.mark.parametrize(
    ("code", "subcode", "cls"),
    [(4, None, RateLimitedError), (80002, None, RateLimitedError), (9, 2207042, QuotaExhaustedError),
     (36003, 2207009, InvalidMediaError), (190, 463, AuthError)],
)
def test_is_transient_false_keeps_waits_and_permanent_rows(
    code: int, subcode: int | None, cls: type[InstagramError]
) -> None:
    assert type(parse_error(graph(code, subcode, is_transient=False))) is cls


def test_fresh_object_reads_stay_transient_despite_the_flag() -> None:
    """100/33 on a read of a just-created object comes with is_transient: false and passes seconds later."""
    err = parse_error(graph(100, 33, is_transient=False), op=OP.READ)
    assert type(err) is TransientError and err.resend_safe is False
    assert type(parse_error(graph(100, 33, is_transient=False), op=OP.WRITE)) is InvalidRequestError


def test_is_transient_true_keeps_the_row_of_a_known_code() -> None:
    assert type(parse_error(graph(100, 2207028, is_transient=True))) is InvalidMediaError
    assert type(parse_error(graph(1, is_transient=True))) is TransientError


def test_unknown_code_5xx_follows_is_transient() -> None:
    assert type(parse_error(graph(424242, status=500))) is TransientError
    assert type(parse_error(graph(424242, status=503, is_transient=True))) is TransientError
    assert type(parse_error(graph(424242, status=500, is_transient=False))) is InvalidRequestError
    assert type(parse_error(graph(424242, status=499))) is InvalidRequestError
    assert type(parse_error(graph(424242, is_transient="yes"))) is InvalidRequestError  # not a boolean


@pytest.mark.parametrize("status", [400, 403, 429, 500])
def test_http_status_does_not_decide_when_a_code_is_present(status: int) -> None:
    assert type(parse_error(graph(190, 463, status=status))) is AuthError
    assert type(parse_error(graph(36003, 2207009, status=status))) is InvalidMediaError


def test_fields_are_kept() -> None:
    resp = httpx.Response(
        400,
        json={
            "error": {
                "message": "The image size is too large.",
                "type": "OAuthException",
                "code": 36000,
                "error_subcode": 2207004,
                "is_transient": False,
                "error_user_title": "Image size too large",
                "error_user_msg": "The image is too large to download. It should be less than 8 MiB.",
                "fbtrace_id": "A6LJylpZRKw2xKLFsAP-cJh",
            }
        },
    )
    err = parse_error(resp)
    assert isinstance(err, InvalidMediaError)
    assert err.message == "The image size is too large."
    assert err.user_title == "Image size too large"
    assert err.fbtrace_id == "A6LJylpZRKw2xKLFsAP-cJh"
    assert err.is_transient is False
    assert err.error_type == "OAuthException"
    assert err.advice == "The image is too large to download. It should be less than 8 MiB."
    assert "fbtrace_id=A6LJylpZRKw2xKLFsAP-cJh" in str(err)
    assert err.as_dict()["kind"] == "invalid_media"


def test_advice_from_subcode_table_when_no_user_msg() -> None:
    assert (
        parse_error(graph(36003, 2207009)).advice == "The image aspect ratio must be between 4:5 and 1.91:1."
    )
    assert "2 and at most 10" in parse_error(graph(100, 2207028)).advice
    assert "connect the account again" in parse_error(graph(190, 460)).advice
    assert parse_error(graph(424242)).advice  # always a sentence


def test_unknown_code_with_is_transient_flag_is_transient() -> None:
    assert type(parse_error(graph(424242, is_transient=True))) is TransientError


def test_rate_limit_retry_after_from_buc_header() -> None:
    buc = {"17841400000": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    err = parse_error(graph(80002, headers={"X-Business-Use-Case-Usage": json.dumps(buc)}))
    assert isinstance(err, RateLimitedError)
    assert err.retry_after_s == 7 * 60


def test_rate_limit_defaults() -> None:
    app = parse_error(graph(4))
    spam = parse_error(graph(4, 2207051))
    assert isinstance(app, RateLimitedError) and isinstance(spam, RateLimitedError)
    assert 0 < app.retry_after_s < spam.retry_after_s
    assert spam.retry_after_s >= 3600
    assert isinstance(parse_error(graph(17, headers={"Retry-After": "42"})), RateLimitedError)
    assert parse_error(graph(17, headers={"Retry-After": "42"})).retry_after_s == 42


# ------------------------------------------------------------------ OAuth envelope


def oauth(message: str, status: int = 400) -> httpx.Response:
    return httpx.Response(
        status, json={"error_type": "OAuthException", "code": 400, "error_message": message}
    )


def test_oauth_envelope_code_used() -> None:
    err = parse_error(oauth("Matching code was not found or was already used"), op=Operation.OAUTH)
    assert type(err) is OAuthError
    assert not err.is_configuration_error
    assert err.error_type == "OAuthException"
    assert err.code == 400
    assert "start the connection again" in err.advice


@pytest.mark.parametrize(
    "message",
    ["Invalid platform app", "Invalid platform app.", "Invalid redirect_uri", "Invalid redirect uri",
     "Invalid client secret", "Missing client_id parameter"],
)
def test_oauth_envelope_configuration_problems(message: str) -> None:
    err = parse_error(oauth(message))
    assert isinstance(err, OAuthConfigError)
    assert err.is_configuration_error
    assert err.message == message


def test_oauth_envelope_keys_in_any_order_and_legacy_meta() -> None:
    raw = b'{"error_message":"Invalid platform app","code":400,"error_type":"OAuthException"}'
    assert isinstance(parse_error(httpx.Response(400, content=raw)), OAuthConfigError)
    legacy = httpx.Response(
        400, json={"meta": {"error_type": "OAuthException", "code": 400, "error_message": "Matching code..."}}
    )
    assert type(parse_error(legacy)) is OAuthError


# ------------------------------------------------------------------ non-JSON bodies


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_non_json_5xx_is_transient(status: int) -> None:
    err = parse_error(httpx.Response(status, text="<html>Bad Gateway</html>"))
    assert type(err) is TransientError
    assert err.code is None
    assert err.http_status == status
    assert str(status) in err.message


def test_non_json_4xx_and_empty_bodies() -> None:
    assert type(parse_error(httpx.Response(400, text="nope"))) is InvalidRequestError
    assert type(parse_error(httpx.Response(429))) is RateLimitedError
    assert parse_error(httpx.Response(429)).retry_after_s == 300  # type: ignore[attr-defined]
    assert type(parse_error(httpx.Response(500))) is TransientError
    assert type(parse_error(httpx.Response(401))) is AuthError
    assert type(parse_error(httpx.Response(401, text="<html>Unauthorized</html>"))) is AuthError
    assert type(parse_error(httpx.Response(403, text="Forbidden"))) is InvalidRequestError
    assert type(parse_error(httpx.Response(401, json={"error": "invalid_token"}))) is AuthError
    assert type(parse_error(httpx.Response(499))) is InvalidRequestError


def test_string_error_envelope() -> None:
    resp = httpx.Response(400, json={"error": "invalid_request", "error_description": "bad code"})
    assert type(parse_error(resp, op=Operation.OAUTH)) is OAuthError
    assert type(parse_error(resp)) is InvalidRequestError


def test_errors_pickle() -> None:
    err = parse_error(graph(4, headers={"Retry-After": "12"}))
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(back) is RateLimitedError
    assert back.retry_after_s == 12
    assert back.code == 4
    resend = pickle.loads(pickle.dumps(parse_error(graph(1))))  # noqa: S301
    assert type(resend) is TransientError and resend.resend_safe is True
    net = pickle.loads(pickle.dumps(NetworkError("boom", request_sent=False)))  # noqa: S301
    assert type(net) is NetworkError and net.request_sent is False


@pytest.mark.parametrize(
    ("subcode", "words"),
    [(2207052, "could not fetch the media"), (2207009, "between 4:5 and 1.91:1"), (2207004, "at most 8 MB"),
     (2207005, "use JPEG"), (2207010, "at most 2200 characters"), (2207026, "use MOV or MP4"),
     (2207027, "still being processed"), (2207042, "publishing limit"), (2207077, "could not download the video"),
     (2207082, "could not process the video"), (2207081, "trial reel"), (2207053, "video upload failed"),
     (2207003, "took too long"), (1234567, "Check the media against Instagram's specifications")],
)
def test_advice_for_subcode(subcode: int, words: str) -> None:
    assert words in advice_for_subcode(subcode)


def test_advice_for_subcode_with_code() -> None:
    assert "policy reasons" in advice_for_subcode(1234567, code=368)
    assert "Check the media" in advice_for_subcode(1234567, code=424242)
    assert "publishing limit" in advice_for_subcode(2207042, code=9)


def test_errors_built_by_hand_are_never_resent() -> None:
    assert TransientError("x").resend_safe is False
    assert NetworkError("x").request_sent is True  # unless told otherwise, Instagram may have acted on it


def test_non_string_fields_of_the_envelope_are_ignored() -> None:
    err = parse_error(graph(36003, 2207009, error_user_msg=5, error_user_title=["x"], fbtrace_id=7))
    assert err.user_msg is None and err.user_title is None and err.fbtrace_id is None
    assert err.advice == "The image aspect ratio must be between 4:5 and 1.91:1."
    assert parse_error(graph(36003, 2207009, error_user_msg="")).advice.startswith("The image aspect ratio")


@pytest.mark.parametrize(("header", "wait"), [("-5", 300.0), ("0", 300.0), ("abc", 300.0), ("7", 7.0)])
def test_retry_after_header_values(header: str, wait: float) -> None:
    err = parse_error(graph(17, headers={"Retry-After": header}))
    assert isinstance(err, RateLimitedError) and err.retry_after_s == wait


def test_advice_of_an_error_built_by_hand_comes_from_the_table() -> None:
    assert "password changed" in AuthError("x", code=190, subcode=460).advice
    assert "no longer valid" in AuthError("x").advice
    assert AuthError("x", code=190, subcode=460, user_msg="Localized").advice == "Localized"
