"""The folder of the local stack the stack tests run against (its stack.json, logs, sam-env.json, dockerd):
IGPUB_RUN_DIR when set (local/e2e_groups.py gives each group of tests a stack and a folder of its own), else
the checkout's .run (local/stack.sh)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = Path(os.environ.get("IGPUB_RUN_DIR") or ROOT / ".run")
