"""Error classification (code/subcode, never HTTP status), both envelopes, non-JSON bodies."""

from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
import pytest

from igpub.instagram.errors import (
    AuthError,
    ContainerExpiredError,
    HashtagLimitError,
    InstagramError,
    InvalidMediaError,
    InvalidRequestError,
    NotReadyError,
    OAuthConfigError,
    OAuthError,
    Operation,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    advice_for_subcode,
    parse_error,
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


CASES: list[tuple[int, int | None, Operation | None, type[InstagramError]]] = [
    # transient
    (1, None, None, TransientError),
    (2, None, None, TransientError),
    (-1, 2207001, None, TransientError),
    (-1, 2207032, None, TransientError),
    (-2, 2207003, None, TransientError),
    (100, 33, Operation.READ, TransientError),
    # rate limited
    (4, None, None, RateLimitedError),
    (17, None, None, RateLimitedError),
    (32, None, None, RateLimitedError),
    (613, None, None, RateLimitedError),
    (613, 1996, None, RateLimitedError),
    (341, None, None, RateLimitedError),
    (80001, None, None, RateLimitedError),
    (80002, None, None, RateLimitedError),
    (4, 2207051, Operation.WRITE, RateLimitedError),
    # auth
    (190, None, None, AuthError),
    (190, 458, None, AuthError),
    (190, 460, None, AuthError),
    (190, 463, None, AuthError),
    (190, 467, None, AuthError),
    (102, None, None, AuthError),
    # permissions
    (10, None, None, PermissionDeniedError),
    (200, None, None, PermissionDeniedError),
    (299, None, None, PermissionDeniedError),
    (3, None, None, PermissionDeniedError),
    (25, 2207050, None, PermissionDeniedError),
    # invalid request
    (100, None, None, InvalidRequestError),
    (100, 33, Operation.WRITE, InvalidRequestError),
    (100, 2207023, None, InvalidRequestError),
    (506, None, None, InvalidRequestError),
    (12345, None, None, InvalidRequestError),
    # invalid media
    (36000, 2207004, None, InvalidMediaError),
    (36001, 2207005, None, InvalidMediaError),
    (36003, 2207009, None, InvalidMediaError),
    (36004, 2207010, None, InvalidMediaError),
    (352, 2207026, None, InvalidMediaError),
    (9004, 2207052, None, InvalidMediaError),
    (100, 2207028, None, InvalidMediaError),
    (100, 2207040, None, InvalidMediaError),
    (1, 2207057, None, InvalidMediaError),
    (100, 2207089, None, InvalidMediaError),
    # quota / readiness / expiry
    (9, 2207042, Operation.PUBLISH, QuotaExhaustedError),
    (9007, 2207027, Operation.PUBLISH, NotReadyError),
    (24, 2207008, None, ContainerExpiredError),
    (24, 2207006, None, ContainerExpiredError),
    (-2, 2207020, None, ContainerExpiredError),
    (-1, 2207053, None, ContainerExpiredError),
    # hashtags (code 18 UNCONFIRMED)
    (18, None, Operation.HASHTAG_SEARCH, HashtagLimitError),
    (18, None, Operation.READ, InvalidRequestError),
    # OAuth on graph.facebook.com
    (100, 36009, Operation.OAUTH, OAuthError),
    (100, 36007, None, OAuthError),
    (100, None, Operation.OAUTH, OAuthError),
    (191, None, Operation.OAUTH, OAuthConfigError),
]


@pytest.mark.parametrize(("code", "subcode", "op", "cls"), CASES)
def test_classification_table(
    code: int, subcode: int | None, op: Operation | None, cls: type[InstagramError]
) -> None:
    err = parse_error(graph(code, subcode), op=op)
    assert type(err) is cls
    assert err.code == code
    assert err.subcode == subcode
    assert err.http_status == 400


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


@pytest.mark.parametrize("message", ["Invalid platform app", "Invalid platform app.", "Invalid redirect_uri"])
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
    assert type(parse_error(httpx.Response(500))) is TransientError


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


def test_advice_for_subcode() -> None:
    assert advice_for_subcode(2207052).startswith("Instagram could not fetch the media")
    assert advice_for_subcode(2207009) == "The image aspect ratio must be between 4:5 and 1.91:1."
    assert advice_for_subcode(1)  # unknown: still a sentence
