"""Media preparation figures (igpub.media): a 12 MP phone photo and a 60 s 1080p clip, each prepared in a fresh
interpreter the way the MediaFunction does it: wall time, CPU time, peak memory (the Python process and ffmpeg,
which run at the same time), and the cost per 1,000 posts at the template's MemorySize.

    python -m bench.media [--seconds 60]

Local figures on a shared 2-core machine: Lambda gives a function CPU in proportion to its memory (1 vCPU at
1,769 MB), so the times here are an estimate of the Lambda's, not a measurement of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.prices import PRICES

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0, c0 = time.perf_counter(), time.process_time()
kind, src, role = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
if kind == "image":
    from igpub.media.images import prepare_image
    data = src.read_bytes()
    r = prepare_image(data, role=role)
    out_size, summary = len(r.data), r.summary
else:
    from igpub.media.video import prepare_video
    v = prepare_video(src, src.with_suffix(".ig.mp4"), role=role)
    out_size, summary = v.size, v.summary
wall = time.perf_counter() - t0
self_ = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "cpu_s": self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime,
                  "python_peak_mb": self_.ru_maxrss / 1024, "ffmpeg_peak_mb": kids.ru_maxrss / 1024,
                  "out_bytes": out_size, "summary": summary}))
"""


def _template_memory_mb() -> int:
    text = (ROOT / "template.yaml").read_text()
    m = re.search(r"  MediaFunction:\n(?:.*\n){0,3}?\s+MemorySize: (\d+)", text)
    return int(m[1]) if m else 2048


def make_photo(path: Path) -> Path:
    """4032x3024 (12 MP), a phone's JPEG: EXIF orientation 6 and GPS, fine detail (noise over a gradient)."""
    from PIL import Image

    base = Image.linear_gradient("L").resize((4032, 3024))
    noise = Image.effect_noise((4032, 3024), 40)
    rgb = Image.merge("RGB", (base, noise, base.rotate(180)))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}
    rgb.save(path, "JPEG", quality=92, exif=exif.tobytes())
    return path


def make_clip(path: Path, seconds: int) -> Path:
    """1080p30 with stereo audio, MPEG-4 Part 2 in a MOV with the moov atom at the end (an old camera's file):
    every step of the transcode runs (decode, scale check, H.264 encode, AAC, faststart)."""
    from igpub.media.video import ffmpeg_exe

    subprocess.run(  # noqa: S603
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}", "-ac", "2",
         "-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac", "-f", "mov", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _prepare(kind: str, src: Path, role: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "igpub"), str(ROOT)])}
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _CHILD, kind, str(src), role], capture_output=True, text=True, env=env, check=True
    )
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def _cost_per_1000(seconds: float, memory_mb: int, s3_gets: int, s3_puts: int) -> float:
    gb_s = seconds * memory_mb / 1024
    per = gb_s * PRICES["lambda_gb_second"] + PRICES["lambda_request"] + PRICES["sfn_state_transition"] * 2
    per += s3_gets * PRICES["s3_get"] + s3_puts * PRICES["s3_put"]
    return round(per * 1000, 4)


def measure(seconds: int = 60) -> dict[str, Any]:
    memory_mb = _template_memory_mb()
    out: dict[str, Any] = {"memory_mb": memory_mb, "cpus_here": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp) / "IMG_0001.jpg")
        p = _prepare("image", photo, "feed")
        p["in_bytes"] = photo.stat().st_size
        # Prepare (1 ranged GET), MediaFunction: GET the post, GET the object, PUT the rendition; two transitions
        p["cost_per_1000_usd"] = _cost_per_1000(p["wall_s"], memory_mb, s3_gets=2, s3_puts=1)
        out["photo_12mp"] = p
        clip = make_clip(Path(tmp) / "clip.mov", seconds)
        v = _prepare("video", clip, "reel")
        v["in_bytes"] = clip.stat().st_size
        v["cost_per_1000_usd"] = _cost_per_1000(v["wall_s"], memory_mb, s3_gets=2, s3_puts=1)
        out[f"clip_{seconds}s_1080p"] = v
    return out


def table(m: dict[str, Any]) -> str:
    lines = [f"Media preparation (fresh interpreter, {m['cpus_here']} shared CPUs here; cost at MemorySize "
             f"{m['memory_mb']} MB)",
             f"  {'input':<16}{'wall s':>8}{'cpu s':>8}{'python MB':>11}{'ffmpeg MB':>11}{'in':>10}{'out':>10}"
             f"{'$/1000 posts':>14}"]
    for name, r in m.items():
        if not isinstance(r, dict):
            continue
        lines.append(f"  {name:<16}{r['wall_s']:>8.2f}{r['cpu_s']:>8.2f}{r['python_peak_mb']:>11.0f}"
                     f"{r['ffmpeg_peak_mb']:>11.0f}{r['in_bytes'] / 1e6:>8.1f}MB{r['out_bytes'] / 1e6:>8.1f}MB"
                     f"{r['cost_per_1000_usd']:>14.4f}")
        lines.append(f"  {'':<16}{r['summary']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=int, default=60)
    args = p.parse_args(argv)
    m = measure(args.seconds)
    print(json.dumps(m, indent=2), file=sys.stderr)
    print(table(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
