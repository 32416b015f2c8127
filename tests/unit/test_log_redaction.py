"""The log redactor masks secrets by what they are (exact field names, token-shaped values) and keeps what
explains a failure: Graph error codes, subcodes, fbtrace_id, x-app-usage figures, a post's failure code."""

from __future__ import annotations

import io
import json
import logging
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from igpub.observability import SECRET_NAMES, RedactingFormatter, redact, redact_value

TOKEN = "IGAAT" + "x7Yq" * 30
FB_TOKEN = "EAAB" + "Zk9" * 40
OAUTH_CODE = "AQ" + "Bx_9-" * 40  # the fake's (and Meta's) codes: AQ + a long opaque string
APP_SECRET = "3f0c1d2e9a8b7c6d5e4f3a2b1c0d9e8f"


def log_line(message: str, **extra: Any) -> dict[str, Any]:
    """One record through the formatter the functions use, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger(f"redaction-test-{id(stream)}")
    log.handlers = [handler]
    log.propagate = False
    log.warning(message, extra=extra)
    out: dict[str, Any] = json.loads(stream.getvalue())
    return out


def test_graph_error_codes_subcodes_and_trace_ids_are_kept() -> None:
    error = {"code": 100, "subcode": 2207026, "error_subcode": 2207026, "fbtrace_id": "AbC12dEfGh3",
             "message": "Unsupported post request", "type": "OAuthException"}
    line = log_line("container creation failed", error=error)
    assert line["error"] == error


def test_a_failed_posts_code_and_instagram_error_are_kept() -> None:
    line = log_line("post failed", post_id="p-1", code="invalid_media",
                    instagram_error={"code": 36003, "subcode": 2207009, "fbtrace_id": "Az9_xYw"})
    assert line["code"] == "invalid_media"
    assert line["instagram_error"] == {"code": 36003, "subcode": 2207009, "fbtrace_id": "Az9_xYw"}


def test_app_usage_figures_are_kept() -> None:
    usage = '{"call_count":28,"total_cputime":25,"total_time":25}'
    buc = {"17841400000": [{"type": "instagram", "call_count": 91, "estimated_time_to_regain_access": 3}]}
    line = log_line("usage", **{"x-app-usage": usage, "x-business-use-case-usage": buc, "wait_s": 600})
    assert line["x-app-usage"] == usage and line["x-business-use-case-usage"] == buc and line["wait_s"] == 600


def test_secret_fields_are_masked_by_exact_name() -> None:
    line = log_line("oops", access_token=TOKEN, client_secret=APP_SECRET, token="short1",
                    invite="Zx81-abc", verify_token="v3rify", nested={"app_secret": APP_SECRET, "count": 2})
    assert line["access_token"] == line["client_secret"] == line["token"] == "***"
    assert line["invite"] == line["verify_token"] == "***"
    assert line["nested"] == {"app_secret": "***", "count": 2}
    assert TOKEN not in json.dumps(line) and APP_SECRET not in json.dumps(line)


def test_names_that_merely_end_like_a_secret_are_kept() -> None:
    line = log_line("ok", token_expires_at=1767225600, subcode=2207052, status_code="ERROR",
                    error_code="container_error", token_version=3)
    assert line["token_expires_at"] == 1767225600 and line["subcode"] == 2207052
    assert line["status_code"] == "ERROR" and line["error_code"] == "container_error" and line["token_version"] == 3


def test_an_oauth_code_is_masked_but_a_machine_code_is_not() -> None:
    assert log_line("cb", code=OAUTH_CODE)["code"] == "***"
    assert log_line("cb", code="d8f0a9b7-c6e5")["code"] == "***"  # not a machine code: masked
    assert log_line("x", code=190)["code"] == 190
    assert log_line("x", code="needs_reauth")["code"] == "needs_reauth"


def test_token_shaped_values_are_masked_anywhere() -> None:
    line = log_line(f"GET https://graph.instagram.com/me?fields=id&access_token={TOKEN} failed",
                    url=f"https://x/oauth/callback?code={OAUTH_CODE}&state=s1",
                    note=f"user pasted {FB_TOKEN} in a caption", items=[TOKEN])
    text = json.dumps(line)
    assert TOKEN not in text and FB_TOKEN not in text and OAUTH_CODE not in text
    assert "state=s1" in line["url"] and "fields=id" in line["message"]


def test_free_text_keeps_codes_and_masks_secret_parameters() -> None:
    text = redact(f"Graph error code=100 subcode=2207026 fbtrace_id=Ab12 client_secret={APP_SECRET}&code={OAUTH_CODE}")
    assert "code=100" in text and "subcode=2207026" in text and "fbtrace_id=Ab12" in text
    assert APP_SECRET not in text and OAUTH_CODE not in text


@given(
    name=st.sampled_from(sorted(SECRET_NAMES)),
    value=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=60),
)
def test_any_value_of_a_secret_field_is_masked(name: str, value: str) -> None:
    assert redact_value(name, value) == "***"
    assert redact_value("outer", {name: value, "n": 1}) == {name: "***", "n": 1}
    assert redact(f"{name}={value}&next=1") == f"{name}=***&next=1"


@given(code=st.integers(min_value=-(2**31), max_value=2**31), subcode=st.integers(min_value=0, max_value=9_999_999))
def test_any_graph_error_numbers_survive(code: int, subcode: int) -> None:
    error = {"code": code, "subcode": subcode, "error_subcode": subcode}
    assert redact_value("error", error) == error
    assert f"code={code}" in redact(f"code={code} subcode={subcode}")


@given(body=st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=20, max_size=200))
def test_any_instagram_token_is_masked_in_text(body: str) -> None:
    token = "IGAA" + body
    assert token not in redact(f"calling with {token} now") and "IGAA" not in redact(f"x {token}")
