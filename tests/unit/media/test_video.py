"""igpub.media.video with the ffmpeg that imageio-ffmpeg ships: generated inputs of every awkward kind come out
as H.264/AAC MP4 with moov at the front, 23-60 fps, at most 1920 wide; durations are never changed, and out of
range is refused with the range and the length."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from igpub.media import plan
from igpub.media.video import ffmpeg_exe, prepare_video, probe


def make(path: Path, *args: str) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)], check=True)
    return path


SRC = ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=4", "-f", "lavfi", "-i", "sine=d=4"]


def inputs(tmp: Path) -> dict[str, Path]:
    return {
        "vp9.webm": make(
            tmp / "vp9.webm", *SRC, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
            "-c:a", "libopus"
        ),
        "late.mp4": make(tmp / "late.mp4", *SRC, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"),  # moov last
        "prores.mov": make(tmp / "prores.mov", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4", "-c:v", "prores"),
        "vfr.mov": make(
            tmp / "vfr.mov",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=90:d=4",
            "-vf",
            "setpts='PTS+0.02*sin(N)/TB'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ),
        "hevc.mkv": make(tmp / "hevc.mkv", *SRC, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                         "log-level=error", "-c:a", "aac"),
        "wide.mp4": make(
            tmp / "wide.mp4",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=2560x1440:r=30:d=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ),
        "slow.mp4": make(
            tmp / "slow.mp4",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=15:d=4",
            "-c:v",
            "libx264",
            "-movflags",
            "+faststart",
        ),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return inputs(tmp_path_factory.mktemp("videos"))


@pytest.mark.parametrize("name", ["vp9.webm", "late.mp4", "prores.mov", "vfr.mov", "hevc.mkv", "wide.mp4", "slow.mp4"])
def test_every_rendition_meets_the_reels_specs(made: dict[str, Path], name: str, tmp_path: Path) -> None:
    src = made[name]
    before = src.read_bytes()
    head = before[: 128 * 1024]
    assert plan.video_work(plan.video_facts(head), len(before), role="reel"), "the input needs work"
    r = prepare_video(src, tmp_path / "out.mp4", role="reel", name=name)
    assert src.read_bytes() == before  # the original is untouched
    out = r.path.read_bytes()
    facts = plan.video_facts(out[: 256 * 1024])
    assert facts.format == "mp4" and facts.moov_first is True
    assert facts.video_codec in ("avc1", "hvc1", "hev1")
    assert facts.audio_codec in (None, "mp4a")
    assert plan.video_work(facts, len(out), role="reel") == []
    p = probe(r.path)
    assert p.width is not None and p.width <= plan.VIDEO_MAX_WIDTH
    assert p.fps is not None and 23 <= p.fps <= 60
    assert p.duration is not None and abs(p.duration - probe(src).duration) < 0.15  # type: ignore[operator]
    if name in ("late.mp4", "hevc.mkv"):  # streams Instagram takes (H.264/HEVC, AAC): only the container changes
        assert r.remuxed and "re-muxed" in r.summary
    else:
        assert not r.remuxed and "-> MP4 H.264" in r.summary


def test_out_of_range_duration_is_refused_with_range_and_length(tmp_path: Path) -> None:
    short = make(tmp_path / "short.mp4", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2", "-c:v", "libx264")
    with pytest.raises(plan.NoFit, match=r"short.mp4 is 2.0 s long; Instagram takes story videos of 3 s to 1 min"):
        prepare_video(short, tmp_path / "o.mp4", role="story", name="short.mp4")
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_carousel_video_is_fitted_to_the_first_items_ratio(tmp_path: Path, fit: str) -> None:
    from fractions import Fraction

    src = make(tmp_path / "wide.mp4", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=3", "-c:v", "libx264",
               "-movflags", "+faststart")
    head = src.read_bytes()[: 128 * 1024]
    work = plan.plan_video(head, src.stat().st_size, role="carousel", name="wide.mp4", first=(1080, 1350),
                           fit=fit).work  # type: ignore[arg-type]
    assert work == [f"1.78:1 {'padded' if fit == 'pad' else 'cropped'} to the first item's 4:5"]
    r = prepare_video(src, tmp_path / "o.mp4", role="carousel", target=Fraction(4, 5), fit=fit)  # type: ignore[arg-type]
    assert r.width and r.height and abs(Fraction(r.width, r.height) - Fraction(4, 5)) <= Fraction(1, 100)
    assert (r.width > 400) == (fit == "pad")  # padding keeps the full width; cropping cuts the sides
    assert plan.plan_video(r.path.read_bytes()[: 256 * 1024], r.size, role="carousel", name="o.mp4",
                           first=(1080, 1350)).work == []
