"""The README is executed (issue 20): every command of its ```sh run blocks runs against the deployed local
stack, in the README's order, from a scratch folder outside the checkout (so the CLI must find the stack by
itself), and must end with the exit code the README gives it (0, or `# exit N`). An example that stops working
fails here. The convention is in tests/readme_blocks.py and the README's "The README is executed".

What the runner provides, as a reader would have it: the fake's demo account connected with comments and
insights and with Facebook Login, made the account commands default to (IGPUB_ACCOUNT); a published post with a
comment from the audience; the files the examples name (a.jpg, b.jpg, c.jpg, post.json, posts/). What it
substitutes: the example account id (17841400000000000), POST_ID and COMMENT_ID with those ids;
https://example.com/...jpg|mp4 and the fake's port 4580 with the fake's own media and port; each
--client-post-id with a unique one (the stack outlives a run); .venv/bin/ with the checkout's."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from igpub_cli import api
from igpub_cli.api import create_invite
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from tests.readme_blocks import ROOT, Block, blocks

RUN_BLOCKS = [b for b in blocks() if b.mode == "run"]
EXAMPLE_ACCOUNT = "17841400000000000"
COMMAND_TIMEOUT_S = 300


def _jpeg(path: Path, seed: int) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1080, 1080), (seed * 60 % 255, 120, 200)).save(buf, "JPEG", quality=70)
    path.write_bytes(buf.getvalue())


def _facebook_login(dep: Deployment) -> None:
    with httpx.Client(timeout=60, follow_redirects=False) as http:
        first = http.get(create_invite(dep, facebook=True).url)
        assert first.status_code == 302, first.text
        consent = http.get(first.headers["location"])
        assert consent.status_code == 302, consent.text
        done = http.get(consent.headers["location"].split("#", 1)[0])
        assert done.status_code == 200, done.text


class World:
    """What the README's reader has: a connected account, a published post with a comment, files, a shell."""

    def __init__(self, dep: Deployment, fake: FakeInstagram, scratch: Path) -> None:
        self.dep, self.fake, self.scratch = dep, fake, scratch
        fake.config(processing_seconds={"REELS": 1, "VIDEO": 1, "STORIES_VIDEO": 1})
        resp = walk_connect_flow(dep, features="comments,insights")
        assert resp.status_code == 200, resp.text
        self.account = next(a.account_id for a in api.list_accounts(dep) if a.username == "igpub_demo")
        _facebook_login(dep)
        # tokens earlier tests left due (their fake was reset since) are settled now, so the README's
        # `igpub refresh` sees what a reader's deployment has: nothing due, or tokens that refresh
        api.refresh_tokens(dep)
        rec = api.publish_post(dep, {"account_id": self.account, "kind": "image", "caption": "for the README",
                                     "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}]}, timeout_s=240)
        assert rec.status == "published" and rec.media_id, rec
        self.post = rec.post_id
        self.comment = fake.add_comment(rec.media_id, "Lovely light!", username="a_fan")["id"]
        for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
            _jpeg(scratch / name, i)
        image = {"url": fake.cdn("image.jpg", w=1080, h=1350)}
        (scratch / "post.json").write_text(json.dumps(
            {"account_id": self.account, "kind": "image", "caption": "From post.json", "media": [image]}))
        (scratch / "posts").mkdir()
        for i in range(2):
            (scratch / "posts" / f"{i}.json").write_text(json.dumps(
                {"account_id": self.account, "kind": "image", "caption": f"From posts/{i}.json", "media": [image]}))
        port = urlsplit(dep.endpoint_url or "").port
        self.env = {k: v for k, v in os.environ.items() if k not in ("IGPUB_STACK_FILE", "IGPUB_STACK")}
        self.env |= {"PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", "IGPUB_EMU_PORT": str(port),
                     "IGPUB_ACCOUNT": self.account, "BROWSER": "true", "COLUMNS": "200"}

    def substitute(self, block: Block, text: str) -> str:
        fake = urlsplit(self.fake.base_url)
        for post_id in re.findall(r"--client-post-id (\S+)", "\n".join(c.text for c in block.commands)):
            text = re.sub(rf"\b{re.escape(post_id)}\b", f"{post_id}-{self.run_id}", text)
        text = re.sub(r"https://example\.com/[\w./-]*\.jpg", self.fake.cdn("image.jpg", w=1080, h=1080), text)
        text = re.sub(r"https://example\.com/[\w./-]*\.mp4", self.fake.cdn("video.mp4", seconds=10), text)
        text = text.replace("127.0.0.1:4580", fake.netloc).replace(".venv/bin/", f"{ROOT}/.venv/bin/")
        text = text.replace(EXAMPLE_ACCOUNT, self.account).replace("ACCOUNT_ID", self.account)
        return text.replace("POST_ID", self.post).replace("COMMENT_ID", self.comment)

    run_id = uuid.uuid4().hex[:8]

    def run(self, block: Block) -> list[str]:
        """Each command in turn; stops at the first whose exit code is not the README's."""
        log: list[str] = []
        for command in block.commands:
            text = self.substitute(block, command.text)
            started = time.monotonic()
            done = subprocess.run(["/bin/bash", "-c", text], cwd=self.scratch, env=self.env, capture_output=True,
                                  text=True, timeout=COMMAND_TIMEOUT_S, check=False)
            log.append(f"README.md:{command.line} exit {done.returncode} in {time.monotonic() - started:.1f} s: "
                       f"{text}")
            assert done.returncode == command.exit_code, (
                f"README.md:{command.line} ({block.section}) ended {done.returncode}, the README says "
                f"{command.exit_code}:\n$ {text}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
            assert "Traceback" not in done.stderr, done.stderr
        return log


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")  # outside the checkout: the CLI finds the stack by itself


def test_the_readme_has_run_blocks() -> None:
    assert len(RUN_BLOCKS) >= 3
    assert sum(len(b.commands) for b in RUN_BLOCKS) >= 30


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[f"L{b.line}-{b.section}" for b in RUN_BLOCKS])
def test_readme_block_runs(block: Block, dep: Deployment, fake: FakeInstagram, tmp_path: Path) -> None:
    before = {a.account_id for a in api.list_accounts(dep)}
    world = World(dep, fake, tmp_path)
    try:
        log = world.run(block)
    finally:  # accounts an example connected (a second account) do not outlive it: later tests expect one
        table = dep.table("AccountsTableName")
        for account_id in {a.account_id for a in api.list_accounts(dep)} - before - {world.account}:
            table.delete_item(Key={"account_id": account_id})
    print("\n".join(log))
