"""The fake refuses what Meta's media specs rule out and its first bytes show (moov after the media data, a codec
other than H.264/HEVC, a frame rate outside 23-60 fps, more than 1920 px wide) and accepts what fits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fakeig.media_checks import Fetched, check_video, video_spec_problem
from igpub.media.video import ffmpeg_exe

KEEP = 256 * 1024


def make(tmp: Path, name: str, *args: str) -> bytes:
    path = tmp / name
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)], check=True)
    return path.read_bytes()


def lavfi(spec: str) -> list[str]:
    return ["-f", "lavfi", "-i", spec]


@pytest.mark.parametrize(
    ("name", "args", "why"),
    [
        ("late.mp4", [*lavfi("testsrc2=s=320x240:r=30:d=3"), "-c:v", "libx264"], "moov atom"),
        ("vp9.mp4", [*lavfi("testsrc2=s=320x240:r=30:d=3"), "-c:v", "libvpx-vp9", "-deadline", "realtime",
                     "-movflags", "+faststart"], "codec vp09"),
        ("slow.mp4", [*lavfi("testsrc2=s=320x240:r=15:d=3"), "-c:v", "libx264", "-movflags", "+faststart"],
         "15.00 fps"),
        ("wide.mp4", [*lavfi("testsrc2=s=2560x1440:r=30:d=3"), "-c:v", "libx264", "-preset", "ultrafast",
                      "-movflags", "+faststart"], "2560 px wide"),
    ],
)
def test_refused(tmp_path: Path, name: str, args: list[str], why: str) -> None:
    data = make(tmp_path, name, *args)
    problem = video_spec_problem(data[:KEEP])
    assert problem is not None and why in problem.user_msg and problem.subcode == 2207026
    assert check_video(Fetched(data[:KEEP], len(data)), 300 * 2**20, (3.0, 900.0)) is not None
    assert check_video(Fetched(data[:KEEP], len(data)), 300 * 2**20, (3.0, 900.0), spec_checks=False) is None


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_accepted(tmp_path: Path, codec: str) -> None:
    data = make(tmp_path, "ok.mp4", *lavfi("testsrc2=s=1920x1080:r=30:d=3"), "-c:v", codec, "-preset", "ultrafast",
                "-tag:v", "avc1" if codec == "libx264" else "hvc1", "-movflags", "+faststart")
    assert video_spec_problem(data[:KEEP]) is None
    assert check_video(Fetched(data[:KEEP], len(data)), 300 * 2**20, (3.0, 900.0)) is None
