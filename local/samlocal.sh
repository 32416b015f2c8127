#!/usr/bin/env bash
# `sam local invoke` / `sam local start-api` of the built functions against the local stack (or
# LocalStack: set AWS_ENDPOINT_URL, and IGPUB_STACK to the stack's name).
#   local/samlocal.sh invoke FUNCTION EVENT   one invocation; prints the function's result (JSON)
#   local/samlocal.sh api [PORT]              sam local start-api (default port 3000) for the OAuth routes
#   local/samlocal.sh lambda [PORT]           sam local start-lambda (default port 3001): every function
#                                             in a warm container, invoked with boto3 (endpoint_url)
#   local/samlocal.sh docker-up               a reachable Docker engine: DOCKER_HOST, the default socket, or
#                                             our own dockerd under .run/docker (root + Debian's docker.io)
#   local/samlocal.sh docker-down             stop our own dockerd (only it) and the port forwarder
#   local/samlocal.sh image                   the Lambda base image: real, or the cached stand-in
#   local/samlocal.sh env                     print the DOCKER_HOST to use
# Exit status 3 = no container engine can run here (tests skip on it, loudly).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${IGPUB_RUN_DIR:-$ROOT/.run}"  # the stack's folder (local/stack.sh)
DOCKER_DIR="$RUN/docker"          # our own dockerd: data, exec root, socket, pid file, log
OWN_SOCK="$DOCKER_DIR/docker.sock"
SAMENV="$ROOT/.samenv"
VENV="$ROOT/.venv"
EMU_PORT="${IGPUB_EMU_PORT:-4566}"
FAKE_PORT="${IGPUB_FAKE_PORT:-4580}"
CONTAINER_HOST=host.docker.internal
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0

log() { printf '\033[1m[sam-local]\033[0m %s\n' "$*" >&2; }

engine_ok() { timeout 30 docker ${1:+-H "$1"} info >/dev/null 2>&1; }

# ------------------------------------------------------------------ Docker engine
docker_host() { # the engine to use, or nothing
  if [ -n "${DOCKER_HOST:-}" ] && engine_ok "$DOCKER_HOST"; then echo "$DOCKER_HOST"; return; fi
  if [ -S "$OWN_SOCK" ] && engine_ok "unix://$OWN_SOCK"; then echo "unix://$OWN_SOCK"; return; fi
  if [ -z "${IGPUB_OWN_DOCKERD:-}" ] && [ -S /var/run/docker.sock ] && engine_ok unix:///var/run/docker.sock; then
    echo unix:///var/run/docker.sock; return
  fi
}

bridge_name() { echo "igpub$EMU_PORT"; }

free_subnet() { # a 172.30.N.0/24 no interface of this machine uses
  local n=$((EMU_PORT % 200 + 20)) i
  for ((i = 0; i < 200; i++)); do
    if ! ip -4 -o addr show | grep -q " 172\.30\.$n\."; then echo "172.30.$n.1/24"; return; fi
    n=$(((n + 1) % 250))
  done
  echo "no free 172.30.x.0/24 subnet for the Docker bridge" >&2; return 1
}

# the Debian packages make invoke needs (as .ci/run installs them): docker.io (dockerd), busybox-static (the
# stand-in Lambda image's shell), iproute2 (our own bridge). Installed when root with apt-get; otherwise the one
# command to run is printed. IGPUB_NO_INSTALL=1: never install, only say.
install_tools() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  [ "${#missing[@]}" -gt 0 ] || return 0
  local cmd="apt-get update && apt-get install -y ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${IGPUB_NO_INSTALL:-}" ]; then
    log "installing ${missing[*]} (Debian packages for sam local; IGPUB_NO_INSTALL=1 to skip): $cmd"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || log "the install failed; run it yourself: $cmd"
  else
    log "sam local needs ${missing[*]}: run as root: $cmd"
  fi
}

# Lines a local invoke prints that look like failures and are not, each replaced by one line saying why:
# the runtime client's "Failed to get next invocation" once SAM CLI stops the container after the result, and
# Powertools' warning for an invocation that recorded no metric (its source line follows it).
explain_harmless() {
  awk '
    /LAMBDA_RUNTIME Failed to get next invocation/ {
      if (!runtime++) print "[igpub] harmless: the runtime client asked for a next invocation after SAM CLI stopped the container; the result is complete"
      fflush(); next }
    /No application metrics to publish/ {
      if (!metrics++) print "[igpub] harmless: Powertools Metrics had no metric to publish for this invocation"
      skip = 1; fflush(); next }
    skip && /^[[:space:]]/ { skip = 0; next }
    { skip = 0; print; fflush() }
  '
}

docker_up() {
  local host; host="$(docker_host)"
  if [ -n "$host" ]; then echo "$host"; return; fi
  install_tools
  if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
    log "NO CONTAINER ENGINE: no Docker answers (DOCKER_HOST, /var/run/docker.sock) and this script cannot start"
    log "one (needs root, dockerd from Debian's docker.io, and ip from iproute2)"
    return 3
  fi
  mkdir -p "$DOCKER_DIR"
  local bridge; bridge="$(bridge_name)"
  # our own bridge (not docker0, which another dockerd on this machine may own); no iptables rules:
  # containers reach this machine at the bridge address, published ports go through docker-proxy
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add name "$bridge" type bridge
    ip addr add "$(free_subnet)" dev "$bridge"
  fi
  ip link set "$bridge" up
  log "starting dockerd (data in $DOCKER_DIR, bridge $bridge)"
  setsid dockerd --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" --pidfile "$DOCKER_DIR/dockerd.pid" \
    --host "unix://$OWN_SOCK" --bridge "$bridge" --iptables=false --ip-masq=false \
    >"$DOCKER_DIR/dockerd.log" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 300; i++)); do
    if [ -S "$OWN_SOCK" ] && engine_ok "unix://$OWN_SOCK"; then echo "unix://$OWN_SOCK"; return; fi
    sleep 0.1
  done
  log "dockerd did not start; see $DOCKER_DIR/dockerd.log"; tail -n 20 "$DOCKER_DIR/dockerd.log" >&2
  return 3
}

stop_forwarder() {
  local f="$RUN/bridge-forward.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null || true
  rm -f "$f"
}

docker_down() {
  stop_forwarder
  local f="$DOCKER_DIR/dockerd.pid" pid i
  if [ -f "$f" ]; then
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping our dockerd (pid $pid)"
      DOCKER_HOST="unix://$OWN_SOCK" timeout 30 docker ps -aq --filter label=sam.cli.container.type 2>/dev/null \
        | xargs -r env DOCKER_HOST="unix://$OWN_SOCK" timeout 30 docker rm -f >/dev/null 2>&1 || true
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  fi
  if command -v ip >/dev/null 2>&1 && ip link show "$(bridge_name)" >/dev/null 2>&1 && [ -d "$DOCKER_DIR" ]; then
    ip link del "$(bridge_name)" 2>/dev/null || true
  fi
}

use_docker() {
  local host
  host="$(docker_up)" || exit 3
  export DOCKER_HOST="$host"
}

# ------------------------------------------------------------------ image, network, env file
ensure_image() {
  "$(python313)" "$ROOT/local/lambda_base_image.py" ensure >/dev/null
}

python313() { "$ROOT/local/stack.sh" python313; }

gateway() {
  docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}'
}

ensure_forwarder() { # <gateway>:<port> -> 127.0.0.1:<port> for the emulator and the fake
  local gw pidf="$RUN/bridge-forward.pid"
  gw="$(gateway)"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && [ "$(cat "$RUN/bridge-forward.addr" 2>/dev/null)" = "$gw" ]; then
    return
  fi
  stop_forwarder
  mkdir -p "$RUN"
  setsid "$(python313)" "$ROOT/local/bridge_forward.py" --listen "$gw" --port "$EMU_PORT" --port "$FAKE_PORT" \
    >"$RUN/bridge-forward.log" 2>&1 </dev/null &
  echo $! >"$pidf"
  echo "$gw" >"$RUN/bridge-forward.addr"
  local i
  for ((i = 0; i < 50; i++)); do grep -q "$FAKE_PORT" "$RUN/bridge-forward.log" 2>/dev/null && return; sleep 0.1; done
  log "the port forwarder did not start"; cat "$RUN/bridge-forward.log" >&2; exit 1
}

# endpoint, stack and env-vars file: the local stack, or the user's AWS_ENDPOINT_URL (LocalStack)
target() {
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    ENDPOINT="$AWS_ENDPOINT_URL"; STACK="${IGPUB_STACK:-igpub}"; ENV_FILE="$RUN/sam-env-$STACK.json"
    "$VENV/bin/python" "$ROOT/local/sam_env.py" --endpoint "$ENDPOINT" --stack "$STACK" --out "$ENV_FILE" >&2
  else
    ENDPOINT="http://127.0.0.1:$EMU_PORT"; STACK=igpub-local; ENV_FILE="$RUN/sam-env.json"
    if ! curl -fsS -m 2 "$ENDPOINT/_ministack/health" >/dev/null 2>&1; then
      log "the local stack is not running: make up (or set AWS_ENDPOINT_URL to use LocalStack)"; exit 1
    fi
    [ -f "$ENV_FILE" ] || "$VENV/bin/python" "$ROOT/local/sam_env.py" --endpoint "$ENDPOINT" --stack "$STACK" --out "$ENV_FILE" >&2
  fi
  unset AWS_ENDPOINT_URL  # SAM CLI itself needs no AWS endpoint; the functions get theirs from the env file
  CONTAINER_ENDPOINT="$("$VENV/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[2]); from sam_env import container_url; print(container_url(sys.argv[1]))' "$ENDPOINT" "$ROOT/local")"
  if [ ! -f "$ROOT/.aws-sam/build/template.yaml" ]; then log "no build: run make up (or sam build)"; exit 1; fi
}

sam_args() { # shared by invoke and start-api
  SAM_ARGS=(--template "$ROOT/.aws-sam/build/template.yaml" --env-vars "$ENV_FILE"
    --parameter-overrides "LocalAwsEndpointUrl=$CONTAINER_ENDPOINT InstagramAppId=igpub-local-app"
    --add-host "$CONTAINER_HOST:host-gateway" --skip-pull-image --region "$AWS_DEFAULT_REGION")
}

prepare() {
  target
  use_docker
  ensure_image
  [ -n "${IGPUB_NO_FORWARD:-}" ] || ensure_forwarder
  sam_args
}

invoke() {
  local fn="${1:?usage: samlocal.sh invoke FUNCTION EVENT}" event="${2:?usage: samlocal.sh invoke FUNCTION EVENT}"
  prepare
  cd "$ROOT"
  PATH="$SAMENV/bin:$PATH" "$SAMENV/bin/sam" local invoke "$fn" --event "$event" "${SAM_ARGS[@]}" \
    2> >(explain_harmless >&2)
}

api() {
  local port="${1:-3000}"
  prepare
  local base="http://127.0.0.1:$port"
  # the OAuth callbacks must come back to this API, not the deployed one: the functions read the
  # redirect URI from SSM parameters of their own, registered with the (fake) Instagram app
  "$VENV/bin/python" "$ROOT/local/sam_env.py" --endpoint "$ENDPOINT" --stack "$STACK" --out "$RUN/sam-env-api.json" \
    --redirect-base "$base" ${FAKE_URL:+--fake "$FAKE_URL"} >&2
  ENV_FILE="$RUN/sam-env-api.json"; sam_args
  cd "$ROOT"
  log "sam local start-api on $base (connect: $base/connect?invite=... with the invite of igpub connect)"
  # SAM CLI logs each request line with its query string: never let an OAuth code (or a token) through
  env PATH="$SAMENV/bin:$PATH" "$SAMENV/bin/sam" local start-api --host 127.0.0.1 --port "$port" \
    --warm-containers LAZY "${SAM_ARGS[@]}" 2>&1 \
    | sed -u -E 's/([?&](code|access_token|client_secret)=)[^&[:space:]"]+/\1***/g'
}

start_lambda() {
  local port="${1:-3001}"
  prepare
  cd "$ROOT"
  log "sam local start-lambda on http://127.0.0.1:$port (warm containers: each function's container is made once)"
  # the Lambda API of this machine: boto3.client("lambda", endpoint_url=...).invoke(FunctionName=<logical id>)
  exec env PATH="$SAMENV/bin:$PATH" "$SAMENV/bin/sam" local start-lambda --host 127.0.0.1 --port "$port" \
    --warm-containers EAGER "${SAM_ARGS[@]}"
}

case "${1:-}" in
  invoke) shift; invoke "$@" ;;
  lambda) shift; start_lambda "$@" ;;
  api) shift; FAKE_URL="${FAKE_URL:-http://127.0.0.1:$FAKE_PORT}"; api "$@" ;;
  docker-up) docker_up ;;
  docker-down) docker_down ;;
  image) use_docker; ensure_image; "$(python313)" "$ROOT/local/lambda_base_image.py" status ;;
  env) use_docker; echo "DOCKER_HOST=$DOCKER_HOST" ;;
  *) echo "usage: $0 invoke FUNCTION EVENT | api [PORT] | lambda [PORT] | docker-up | docker-down | image | env" >&2; exit 2 ;;
esac
