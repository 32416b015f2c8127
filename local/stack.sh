#!/usr/bin/env bash
# The local stack: ministack (AWS emulator) + the fake Instagram + the SAM app deployed into it.
#   local/stack.sh up       create the tool venvs once, start both servers, build and deploy
#   local/stack.sh deploy   build and deploy again (servers must be up)
#   local/stack.sh down     stop exactly the processes `up` started, remove the emulator's temp folders
#   local/stack.sh status   say what runs
# More than one stack on one machine (the test suite runs its e2e groups on one each, local/e2e_groups.py):
# IGPUB_EMU_PORT / IGPUB_FAKE_PORT give the ports and IGPUB_RUN_DIR the folder of its pid files, logs and
# stack.json (default .run); IGPUB_SKIP_BUILD=1 deploys what the last `sam build` left in .aws-sam.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${IGPUB_RUN_DIR:-$ROOT/.run}"
EMU="$ROOT/.emu"          # ministack's venv (Lambdas run on its interpreter: Python 3.13 like the runtime)
SAMENV="$ROOT/.samenv"    # SAM CLI's venv (its botocore pin conflicts with ministack's)
VENV="$ROOT/.venv"
EMU_PORT="${IGPUB_EMU_PORT:-4566}"
FAKE_PORT="${IGPUB_FAKE_PORT:-4580}"
# the user-level copy of .run/stack.json: the CLI finds the stack from any folder (igpub_cli.deployment)
USER_STATE="${XDG_STATE_HOME:-$HOME/.local/state}/igpub/local-$EMU_PORT.json"
MINISTACK_VERSION=1.5.33
SAM_CLI_VERSION=1.170.0
EMU_BOTO3=1.43.106
SAM_TRANSLATOR_VERSION=1.115.0
CRYPTOGRAPHY_VERSION=50.0.2
CFN_LINT_VERSION=1.58.0

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export SAM_CLI_TELEMETRY=0

log() { printf '\033[1m[stack]\033[0m %s\n' "$*"; }

python313() {
  local p
  if command -v pyenv >/dev/null 2>&1 && p="$(pyenv prefix 3.13 2>/dev/null | head -n1)" && [ -x "$p/bin/python3.13" ]; then
    echo "$p/bin/python3.13"; return
  fi
  for p in python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
    if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return; fi
  done
  echo "python3.13 not found: install Python 3.13 (pyenv install 3.13 or apt-get install python3.13)" >&2
  exit 1
}

ensure_venvs() {
  local py; py="$(python313)"
  if [ ! -x "$EMU/bin/ministack" ] || ! "$EMU/bin/pip" show ministack 2>/dev/null | grep "^Version: $MINISTACK_VERSION$" >/dev/null; then
    log "creating the emulator venv (.emu, ministack $MINISTACK_VERSION)"
    "$py" -m venv "$EMU"
    "$EMU/bin/pip" install -q --disable-pip-version-check "ministack==$MINISTACK_VERSION" "boto3==$EMU_BOTO3" \
      "aws-sam-translator==$SAM_TRANSLATOR_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
  fi
  if [ ! -x "$SAMENV/bin/sam" ] || ! "$SAMENV/bin/pip" show aws-sam-cli 2>/dev/null | grep "^Version: $SAM_CLI_VERSION$" >/dev/null; then
    log "creating the SAM CLI venv (.samenv, aws-sam-cli $SAM_CLI_VERSION, cfn-lint)"
    "$py" -m venv "$SAMENV"
    "$SAMENV/bin/pip" install -q --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  fi
  if [ ! -x "$VENV/bin/fake-instagram" ]; then
    echo "the development venv is missing: run 'make venv' first" >&2; exit 1
  fi
}

healthy() { curl -fsS -m 2 "$1" >/dev/null 2>&1; }

wait_for() { # url name seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do healthy "$1" && return 0; sleep 0.1; done
  echo "$2 did not become healthy at $1 within $3 s; see $RUN/$2.log" >&2
  tail -n 30 "$RUN/$2.log" >&2 || true
  exit 1
}

start_bg() { # name cmd...   (own process group, so `down` can stop it and its children)
  local name=$1; shift
  setsid "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
}

start_servers() {
  mkdir -p "$RUN"
  if healthy "http://127.0.0.1:$EMU_PORT/_ministack/health"; then
    log "ministack already answers on 127.0.0.1:$EMU_PORT"
  else
    log "starting ministack on 127.0.0.1:$EMU_PORT"
    # its own temp folder: the Lambda work folders it leaves behind are removed by `down`, and only these
    mkdir -p "$RUN/tmp"
    # AUTH=true: IAM is evaluated, each Lambda runs with its execution role's credentials (see post_deploy.py)
    (cd "$RUN" && TMPDIR="$RUN/tmp" BIND_HOST=127.0.0.1 GATEWAY_PORT="$EMU_PORT" LAMBDA_WARM_TTL_SECONDS=900 AUTH=true \
       start_bg ministack "$EMU/bin/ministack")
    wait_for "http://127.0.0.1:$EMU_PORT/_ministack/health" ministack 60
  fi
  if healthy "http://127.0.0.1:$FAKE_PORT/_fake/clock"; then
    log "the fake Instagram already answers on 127.0.0.1:$FAKE_PORT"
  else
    log "starting the fake Instagram on 127.0.0.1:$FAKE_PORT"
    start_bg fake-instagram "$VENV/bin/fake-instagram" --host 127.0.0.1 --port "$FAKE_PORT"
    wait_for "http://127.0.0.1:$FAKE_PORT/_fake/clock" fake-instagram 30
  fi
}

deploy() {
  cd "$ROOT"
  mkdir -p "$RUN"
  if [ -n "${IGPUB_SKIP_BUILD:-}" ] && [ -f "$ROOT/.aws-sam/build/template.yaml" ]; then
    log "sam build skipped (IGPUB_SKIP_BUILD): deploying .aws-sam/build as it is"
  else
    log "sam build"
    # sam build needs a real python3.13 first on PATH (a venv's, not the pyenv shim)
    PATH="$SAMENV/bin:$PATH" "$SAMENV/bin/sam" build --config-env local >"$RUN/sam-build.log" 2>&1 \
      || { tail -n 40 "$RUN/sam-build.log"; exit 1; }
  fi
  "$VENV/bin/python" "$ROOT/local/post_deploy.py" pre --endpoint "http://127.0.0.1:$EMU_PORT"
  log "sam deploy --config-env local (into ministack)"
  AWS_ENDPOINT_URL="http://127.0.0.1:$EMU_PORT" PATH="$SAMENV/bin:$PATH" "$SAMENV/bin/sam" deploy \
    --config-env local --parameter-overrides "$(local_parameters)" >"$RUN/sam-deploy.log" 2>&1 \
    || { tail -n 40 "$RUN/sam-deploy.log"; exit 1; }
  "$VENV/bin/python" "$ROOT/local/post_deploy.py" post --endpoint "http://127.0.0.1:$EMU_PORT" \
    --fake "http://127.0.0.1:$FAKE_PORT" --out "$RUN/stack.json"
  { mkdir -p "$(dirname "$USER_STATE")" && cp "$RUN/stack.json" "$USER_STATE"; } \
    || log "could not write $USER_STATE: the CLI finds this stack only from inside the checkout"
  # the env-vars file for sam local invoke / start-api (make invoke, make api)
  "$VENV/bin/python" "$ROOT/local/sam_env.py" --endpoint "http://127.0.0.1:$EMU_PORT" --stack igpub-local \
    --out "$RUN/sam-env.json" >/dev/null
}

local_parameters() {
  local f="http://127.0.0.1:$FAKE_PORT"
  printf '%s ' \
    "InstagramAppId=igpub-local-app" \
    "InstagramAuthorizeUrl=$f/www.instagram.com/oauth/authorize" \
    "InstagramApiBase=$f/api.instagram.com" \
    "GraphInstagramBase=$f/graph.instagram.com" \
    "GraphFacebookBase=$f/graph.facebook.com" \
    "FacebookDialogUrl=$f/www.facebook.com/v25.0/dialog/oauth" \
    "FacebookAppId=igpub-local-fb-app" \
    "ExecuteApiEndpoint=http://127.0.0.1:$EMU_PORT/_aws/execute-api" \
    "AllowHttpMedia=true" \
    "TracingMode=PassThrough" \
    "RefreshScheduleState=DISABLED" \
    "InsightsScheduleState=DISABLED" \
    "PublishVerifyDelaySeconds=15" \
    "StatusPollInTaskSeconds=0" \
    "EmulatorLambdaErrorName=Runtime.HandlerError"
  # StatusPollInTaskSeconds: the tests make Step Functions' waits instant, which an in-task poll's real
  # sleep would undo; make bench sets the AWS default (20) on the publisher for its own run
}

stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  local name
  for name in bridge-forward fake-instagram ministack; do  # bridge-forward: see local/samlocal.sh
    if [ -f "$RUN/$name.pid" ]; then log "stopping $name (pid $(cat "$RUN/$name.pid"))"; fi
    stop_pidfile "$RUN/$name.pid"
  done
  # the emulator leaves its Lambda work folders behind (in its own TMPDIR, see start_servers)
  rm -rf "$RUN/tmp" 2>/dev/null || true
  # the user-level copy, only when it is this checkout's (another checkout may have deployed on this port since)
  if [ -f "$USER_STATE" ] && [ -f "$RUN/stack.json" ] && cmp -s "$USER_STATE" "$RUN/stack.json"; then
    rm -f "$USER_STATE"
  fi
  rm -f "$RUN/stack.json" "$RUN"/sam-env*.json "$RUN/bridge-forward.addr"
}

status() {
  healthy "http://127.0.0.1:$EMU_PORT/_ministack/health" && echo "ministack: up on $EMU_PORT" || echo "ministack: down"
  healthy "http://127.0.0.1:$FAKE_PORT/_fake/clock" && echo "fake Instagram: up on $FAKE_PORT" || echo "fake Instagram: down"
  [ -f "$RUN/stack.json" ] && cat "$RUN/stack.json" || true
}

case "${1:-}" in
  up) ensure_venvs; start_servers; deploy ;;
  deploy) deploy ;;
  down) down ;;
  status) status ;;
  venvs) ensure_venvs ;;
  python313) python313 ;;
  params) local_parameters; echo ;;
  *) echo "usage: $0 up|deploy|down|status|venvs" >&2; exit 2 ;;
esac
