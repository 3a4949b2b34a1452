#!/usr/bin/env bash
# scripts/fuzz_api.sh — holds the server to its OpenAPI document.
#
# Builds the devserver, starts it on a free port over a fresh data directory
# with a bootstrap superadmin, signs in, mints a personal access token with
# every scope (scripts/fuzz_hooks.py keeps it alive) and runs schemathesis (pinned, in .tools/schemathesis) against
# GET /v1/openapi.json with every phase (examples, coverage, fuzzing,
# stateful) and the settings of scripts/schemathesis.toml: every check (set
# there: a `--checks` on the command line would override its per-operation
# exemptions), the expected statuses and the exemptions. Exits non-zero on
# any failure. The devserver is stopped on exit.
#
# Environment knobs (all optional):
#   PYTHON                 interpreter used to create the venv (default python3)
#   SUNDIAL_FUZZ_SEED      schemathesis seed (default below; printed, so any
#                          failure reproduces with the same seed)
#   SUNDIAL_FUZZ_MAX_TIME  time budget of the schemathesis run in seconds
#   SUNDIAL_FUZZ_EXAMPLES  max examples per operation
#   SUNDIAL_FUZZ_REPORT    directory for the JUnit and NDJSON reports
#                          (default: a temporary directory, removed on success)
#   SUNDIAL_FUZZ_ARGS      extra arguments for `st run` (e.g. --include-path-regex ...)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_SPEC="schemathesis==4.32.5"
TOOLS="$ROOT/.tools"
ST_VENV="$TOOLS/schemathesis"
PYTHON="${PYTHON:-python3}"
SEED="${SUNDIAL_FUZZ_SEED:-20260329}"
MAX_TIME="${SUNDIAL_FUZZ_MAX_TIME:-240}"
EXAMPLES="${SUNDIAL_FUZZ_EXAMPLES:-20}"

SERVER_PID=""
DATA_DIR=""
SERVER_LOG=""
REPORT_DIR=""
KEEP_REPORT=0

note() { printf '    %s\n' "$*"; }

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    note "devserver (pid $SERVER_PID) stopped"
  fi
  if [ "$rc" -ne 0 ] && [ -n "$SERVER_LOG" ] && [ -s "$SERVER_LOG" ]; then
    printf '\n==> last lines of the devserver log\n'
    tail -n 20 "$SERVER_LOG" | sed 's/^/    /'
  fi
  [ -n "$SERVER_LOG" ] && rm -f "$SERVER_LOG"
  [ -n "$DATA_DIR" ] && rm -rf "$DATA_DIR"
  if [ -n "$REPORT_DIR" ] && [ "$KEEP_REPORT" = 0 ]; then
    if [ "$rc" -eq 0 ]; then rm -rf "$REPORT_DIR"; else note "reports kept in $REPORT_DIR"; fi
  fi
  if [ "$rc" -ne 0 ]; then
    printf 'fuzz_api: FAILED (exit %d); reproduce with SUNDIAL_FUZZ_SEED=%s scripts/fuzz_api.sh\n' "$rc" "$SEED" >&2
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ensure_venv DIR SPEC...: as in scripts/test.
ensure_venv() {
  local dir="$1"
  shift
  local want
  want="$(printf '%s\n' "$@")"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.sundial-pins" 2>/dev/null)" = "$want" ]; then
    note "$(basename "$dir"): up to date ($*)"
    return 0
  fi
  note "$(basename "$dir"): installing $*"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir" || {
    echo "error: '$PYTHON -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
    return 1
  }
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
  printf '%s' "$want" >"$dir/.sundial-pins"
}

mkdir -p "$TOOLS"
if command -v flock >/dev/null; then
  exec 9>"$TOOLS/.lock"
  flock 9
fi
ensure_venv "$ST_VENV" "$SCHEMATHESIS_SPEC"
if command -v flock >/dev/null; then
  flock -u 9
  exec 9>&-
fi

note "building the devserver"
cargo build --locked -q -p devserver --bin devserver
BIN="$(cargo metadata --format-version 1 --no-deps | "$ST_VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/devserver"

PORT="$("$ST_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sundial-fuzz-data.XXXXXX")"
SERVER_LOG="$(mktemp "${TMPDIR:-/tmp}/sundial-fuzz-server.XXXXXX")"
ADMIN_EMAIL="fuzz-admin@example.com"
ADMIN_PASSWORD="fuzz-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
BASE="http://127.0.0.1:$PORT"

SUNDIAL_ADDR="127.0.0.1:$PORT" SUNDIAL_DATA_DIR="$DATA_DIR" \
  SUNDIAL_BOOTSTRAP_EMAIL="$ADMIN_EMAIL" SUNDIAL_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" \
  RUST_LOG="${RUST_LOG:-warn}" "$BIN" >"$SERVER_LOG" 2>&1 </dev/null &
SERVER_PID=$!

# Wait for it, sign in as the superadmin and mint a token with every scope.
CREDENTIALS="$(ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" "$ST_VENV/bin/python" - "$BASE" "$SERVER_PID" <<'PY'
import json, os, sys, time, urllib.request, urllib.error

base, pid = sys.argv[1], int(sys.argv[2])

def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, data, timeout=10) as resp:
        return json.load(resp)

for _ in range(300):
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the devserver exited during start-up")
    try:
        call("GET", "/v1/health")
        break
    except (urllib.error.URLError, ConnectionError, OSError):
        time.sleep(0.1)
else:
    sys.exit("the devserver did not answer within 30 s")

signed_in = call("POST", "/v1/auth/token",
                 {"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]})
areas = ["auth", "users", "organisations", "calendar", "notifications"]
scopes = [f"{a}:{x}" for a in areas for x in ("read", "write")]
created = call("POST", "/v1/auth/tokens", {"name": "schemathesis", "scopes": scopes},
               token=signed_in["accessToken"])
print(created["token"], created["id"], signed_in["user"]["id"])
PY
)"
read -r TOKEN TOKEN_ID USER_ID <<<"$CREDENTIALS"
note "devserver pid $SERVER_PID on $BASE (data in $DATA_DIR); personal access token minted"

if [ -n "${SUNDIAL_FUZZ_REPORT:-}" ]; then
  REPORT_DIR="$SUNDIAL_FUZZ_REPORT"
  KEEP_REPORT=1
  mkdir -p "$REPORT_DIR"
else
  REPORT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sundial-fuzz-report.XXXXXX")"
fi

note "schemathesis seed $SEED, at most $MAX_TIME s, $EXAMPLES examples per operation"
# --max-time bounds the run; `timeout` is only a backstop should it hang.
# shellcheck disable=SC2086
SUNDIAL_FUZZ_BASE="$BASE" SUNDIAL_FUZZ_TOKEN="$TOKEN" SUNDIAL_FUZZ_TOKEN_ID="$TOKEN_ID" \
  SUNDIAL_FUZZ_USER_ID="$USER_ID" PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=fuzz_hooks \
  timeout --signal=TERM "$((MAX_TIME + 120))" "$ST_VENV/bin/st" --config-file "$ROOT/scripts/schemathesis.toml" \
  run "$BASE/v1/openapi.json" \
  --phases examples,coverage,fuzzing,stateful \
  --seed "$SEED" \
  --max-examples "$EXAMPLES" \
  --max-time "$MAX_TIME" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  --output-sanitize true \
  --report junit,ndjson \
  --report-dir "$REPORT_DIR" \
  ${SUNDIAL_FUZZ_ARGS:-}
