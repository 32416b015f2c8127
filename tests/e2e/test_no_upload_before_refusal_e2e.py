"""A refused `igpub post --file ...` leaves nothing in the media bucket (issue 20): every check that needs no
upload (the request's rules, the account, the time, each file's content) runs before the first upload. The
test counts the bucket's objects before and after each refusal; the last case shows the count does move
when a post is accepted."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from igpub.accounts import Account
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from igpub_cli.main import main


def bucket_keys(dep: Deployment) -> list[str]:
    s3 = dep.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=dep.output("MediaBucketName")):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def jpegs(folder: Path, n: int, *, size: tuple[int, int] = (1080, 1080)) -> list[str]:
    out: list[str] = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", size, (i * 20 % 255, 90, 160)).save(buf, "JPEG", quality=70)
        path = folder / f"n{i}.jpg"
        path.write_bytes(buf.getvalue())
        out.append(str(path))
    return out


def files(paths: list[str]) -> list[str]:
    return [arg for p in paths for arg in ("--file", p)]


PAST = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")

CASES: dict[str, Callable[[list[str], str], tuple[list[str], str]]] = {
    # name -> (argv, a phrase of the refusal)
    "carousel of 11": lambda f, a: (["--kind", "carousel", *files(f[:11])], "2 to 10"),
    "carousel of 1": lambda f, a: (["--kind", "carousel", *files(f[:1])], "2 to 10"),
    "two files on an image post": lambda f, a: (["--kind", "image", *files(f[:2])], "image"),
    "caption of 2,201 characters": lambda f, a: ([*files(f[:1]), "--caption", "x" * 2201], "limit is 2200"),
    "unknown account": lambda f, a: (["--account", "999", *files(f[:1])], "not connected"),
    "publish_at in the past": lambda f, a: ([*files(f[:1]), "--publish-at", PAST], "past"),
    # a PNG is prepared (igpub.media); a file that is no image or video is refused before any upload
    "a good file and a text file": lambda f, a: (["--kind", "carousel", *files(f[:1]), "--file", a],
                                                 "neither an image nor a video"),
    "a wide JPEG with --fit refuse": lambda f, a: (["--fit", "refuse", "--file", f[-1]], "crop it narrower"),
    "first comment over the limit": lambda f, a: ([*files(f[:1]), "--first-comment", "#t " * 31], "hashtag"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_post_uploads_nothing(
    case: str, dep: Deployment, account: Account, fake: FakeInstagram, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "wide").mkdir()
    paths = jpegs(tmp_path, 10) + jpegs(tmp_path / "wide", 1, size=(1080, 300))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    argv, phrase = CASES[case](paths, str(notes))
    if "--account" not in argv:
        argv = ["--account", account.account_id, *argv]
    before = bucket_keys(dep)
    code = main(["post", *argv, "--no-wait"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert phrase.lower() in err.lower(), err
    assert "-> s3://" not in err, err  # the line each upload prints
    assert bucket_keys(dep) == before


def test_accepted_post_uploads_its_files(
    dep: Deployment, account: Account, fake: FakeInstagram, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The control: the same count grows by the files of a post that is accepted."""
    paths = jpegs(tmp_path, 2)
    before = set(bucket_keys(dep))
    code = main(["post", "--account", account.account_id, "--kind", "carousel", *files(paths), "--no-wait",
                 "--publish-at", "+1h"])
    assert code == 0, capsys.readouterr().err
    added = set(bucket_keys(dep)) - before
    assert sorted(k.rsplit("/", 1)[1] for k in added) == ["n0.jpg", "n1.jpg"]
