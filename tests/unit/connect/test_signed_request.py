"""Meta's signed_request check (igpub.connect.signed_request): what is accepted is exactly what one of the
app's secrets signed with HMAC-SHA256 and names the HMAC-SHA256 algorithm, whatever else arrives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igpub.connect.signed_request import SignedRequestRefused, b64url_decode, b64url_encode, sign, verify

IG_SECRET, META_SECRET = "instagram-app-secret", "meta-app-secret"
ids = st.from_regex(r"[1-9][0-9]{5,17}", fullmatch=True)


def payload(user_id: str, **extra: Any) -> dict[str, Any]:
    return {"algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": user_id, **extra}


def test_metas_documented_example_form() -> None:
    # built by hand as the PHP sample on https://developers.facebook.com/docs/apps/delete-data reads it
    body = base64.urlsafe_b64encode(json.dumps(payload("218471")).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(hmac.new(b"s3cret", body.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert verify(f"{sig}.{body}", ["s3cret"]).user_id == "218471"


@given(user_id=ids, which=st.sampled_from([IG_SECRET, META_SECRET]), order=st.booleans())
def test_a_signature_by_either_secret_is_accepted(user_id: str, which: str, order: bool) -> None:
    secrets = [IG_SECRET, META_SECRET] if order else [META_SECRET, IG_SECRET]
    assert verify(sign(payload(user_id), which), secrets).user_id == user_id


@given(user_id=ids, secret=st.text(min_size=1, max_size=40).filter(lambda s: s not in (IG_SECRET, META_SECRET)))
def test_any_other_secret_is_refused(user_id: str, secret: str) -> None:
    with pytest.raises(SignedRequestRefused):
        verify(sign(payload(user_id), secret), [IG_SECRET, META_SECRET])


@given(user_id=ids, algorithm=st.text(max_size=20).filter(lambda a: a.upper() != "HMAC-SHA256"))
def test_another_algorithm_is_refused_even_when_correctly_signed(user_id: str, algorithm: str) -> None:
    with pytest.raises(SignedRequestRefused, match="algorithm"):
        verify(sign(payload(user_id, algorithm=algorithm), IG_SECRET), [IG_SECRET])


def test_no_algorithm_is_refused() -> None:
    data = payload("1234567")
    del data["algorithm"]
    with pytest.raises(SignedRequestRefused):
        verify(sign(data, IG_SECRET), [IG_SECRET])


@settings(max_examples=300)
@given(user_id=ids, data=st.data())
def test_a_tampered_payload_or_signature_is_refused(user_id: str, data: st.DataObject) -> None:
    good = sign(payload(user_id), IG_SECRET)
    i = data.draw(st.integers(0, len(good) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = data.draw(st.sampled_from(alphabet).filter(lambda ch: ch != good[i]))
    if good[i] == ".":
        return
    tampered = good[:i] + c + good[i + 1:]
    try:
        verify(tampered, [IG_SECRET])
    except SignedRequestRefused:
        return
    # accepted only when the change hit the unused low bits of a part's last character (base64 without
    # padding): then both parts decode to exactly the bytes that were signed
    assert [b64url_decode(p) for p in tampered.split(".")] == [b64url_decode(p) for p in good.split(".")]


def test_a_payload_swapped_under_a_valid_signature_is_refused() -> None:
    sig = sign(payload("1111111"), IG_SECRET).split(".")[0]
    other = b64url_encode(json.dumps(payload("2222222")).encode())
    with pytest.raises(SignedRequestRefused, match="signature"):
        verify(f"{sig}.{other}", [IG_SECRET])


@given(st.text(max_size=300))
def test_garbage_is_refused_never_crashes(raw: str) -> None:
    with pytest.raises(SignedRequestRefused):
        verify(raw, [IG_SECRET])


@pytest.mark.parametrize("raw", [None, "", ".", "abc", "a.b.c", "!!!.???"])
def test_malformed_is_refused(raw: str | None) -> None:
    with pytest.raises(SignedRequestRefused):
        verify(raw, [IG_SECRET])


def test_without_any_secret_everything_is_refused() -> None:
    with pytest.raises(SignedRequestRefused):
        verify(sign(payload("1234567"), ""), ["", ""])


@pytest.mark.parametrize("user_id", [None, "", "  ", True, [], {}])
def test_a_payload_without_a_usable_user_id_is_refused(user_id: Any) -> None:
    with pytest.raises(SignedRequestRefused):
        verify(sign({**payload("x"), "user_id": user_id}, IG_SECRET), [IG_SECRET])


def test_a_numeric_user_id_is_read_as_text() -> None:
    assert verify(sign({**payload("x"), "user_id": 218471}, IG_SECRET), [IG_SECRET]).user_id == "218471"
