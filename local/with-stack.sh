#!/usr/bin/env bash
# Run a command against the local stack: start it (and deploy the current code) if needed, run the
# command, and stop the stack again if this script started it. The command's exit status is kept.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU_PORT="${IGPUB_EMU_PORT:-4566}"
RUN="${IGPUB_RUN_DIR:-$ROOT/.run}"  # the stack's folder (local/stack.sh)
started=0
if ! curl -fsS -m 2 "http://127.0.0.1:$EMU_PORT/_ministack/health" >/dev/null 2>&1; then started=1; fi
# a dockerd the sam local tests start (local/samlocal.sh, under .run/docker) is stopped with the stack
had_docker=0
if [ -f "$RUN/docker/dockerd.pid" ]; then had_docker=1; fi
cleanup() {
  if [ "$started" = 1 ] && [ -z "${IGPUB_KEEP_STACK:-}" ]; then
    "$ROOT/local/stack.sh" down
    if [ "$had_docker" = 0 ]; then "$ROOT/local/samlocal.sh" docker-down; fi
  fi
}
trap cleanup EXIT
"$ROOT/local/stack.sh" up || exit 1
"$@"
