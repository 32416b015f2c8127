"""Finding and redacting a person's ids and username (igpub.repositories.personal_data.Subject): whole ids
and whole usernames only, so a deletion never sweeps up someone else's data, and nothing is left behind."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from igpub.connect.status_page import render
from igpub.repositories.deletions import CODE_LENGTH, DeletionRequest, new_code, subject_key, valid_code
from igpub.repositories.personal_data import REDACTED, Subject

SUBJECT = Subject(ids=("17841400000000001", "29000000000000001"), usernames=("ana.b",))
usernames = st.from_regex(r"[a-z][a-z0-9_]{0,10}(\.[a-z0-9_]{1,5})?", fullmatch=True)
ids = st.from_regex(r"[1-9][0-9]{6,17}", fullmatch=True)


def test_whole_ids_and_usernames_are_found() -> None:
    assert SUBJECT.found_in({"value": '{"from":{"id":"17841400000000001"}}'})
    assert SUBJECT.found_in("Nice post @ana.b!")
    assert SUBJECT.found_in({"text": "ANA.B rocks"})  # usernames are case-insensitive


def test_longer_ids_and_usernames_are_not_someone_elses_match() -> None:
    assert not SUBJECT.found_in("178414000000000012")  # a longer id
    assert not SUBJECT.found_in("@ana.bc and @xana.b and ana.b_2")
    assert not SUBJECT.found_in({"n": 1784140000000000})


@given(username=usernames, person_id=ids, before=st.text(max_size=30), after=st.text(max_size=30))
def test_redaction_leaves_no_trace(username: str, person_id: str, before: str, after: str) -> None:
    subject = Subject(ids=(person_id,), usernames=(username,))
    text = f"{before} @{username} {person_id} {after}"
    redacted = subject.redact(text)
    assert not subject.found_in(redacted)
    assert REDACTED in redacted


@given(username=usernames, other=usernames)
def test_redaction_keeps_other_usernames(username: str, other: str) -> None:
    subject = Subject(ids=(), usernames=(username,))
    if other.lower() == username.lower() or re.search(rf"(?<![A-Za-z0-9._]){re.escape(username)}", other, re.I):
        return
    assert subject.redact(f"@{other}") == f"@{other}"


def test_codes_are_unguessable_alphanumerics() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == CODE_LENGTH and c.isalnum() and valid_code(c) for c in codes)
    assert not valid_code("short") and not valid_code("A" * (CODE_LENGTH - 1) + "!") and not valid_code(None)


def test_subject_keys_hide_the_id_and_depend_on_the_secret() -> None:
    a = subject_key("17841400000000001", "secret-one")
    assert "17841400000000001" not in a and len(a) == 64
    assert a == subject_key("17841400000000001", "secret-one") != subject_key("17841400000000001", "secret-two")


def test_the_status_page_says_each_state_in_words() -> None:
    code = new_code()
    base = {"code": code, "source": "instagram", "requested_at": 1764950400}
    assert render(None, code)[0] == 404
    pages = {
        s: render(DeletionRequest(status=s, **base, completed_at=1764954000, reason="a court order"), code)  # type: ignore[arg-type]
        for s in ("received", "in_progress", "done", "refused")
    }
    assert "Request received" in pages["received"][1]
    assert "in progress" in pages["in_progress"][1]
    assert "Deletion complete" in pages["done"][1] and "2025-12-05 17:00 UTC" in pages["done"][1]
    assert "refused" in pages["refused"][1] and "a court order" in pages["refused"][1]
    assert all(status == 200 and code in html for status, html in pages.values())


def test_the_status_page_escapes_what_it_shows() -> None:
    _status, html = render(None, "<script>alert(1)</script>")
    assert "<script>" not in html
