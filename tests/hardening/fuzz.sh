#!/usr/bin/env bash
# Schema fuzzing of every route of a real `wealist serve` (every installed plugin, embedded defaults) with
# schemathesis for a bounded time: FUZZ_SECONDS (default 120). Fails on any 5xx.
set -euo pipefail
VENV="${VENV:-.venv}"
SECONDS_BUDGET="${FUZZ_SECONDS:-120}"
PORT="${FUZZ_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
DATA="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
export WEALIST_DATA_DIR="$DATA" WEALIST_LOG_FORMAT=text WEALIST_ACCESS_LOG=false
# Generous limits: the fuzzer signs in many times from one address.
for what in LOGIN SIGNUP REFRESH; do
  for per in IP ACCOUNT; do export "WEALIST_AUTH__RATE_LIMIT_${what}_${per}=1000000/60"; done
done
"$VENV/bin/wealist" serve --host 127.0.0.1 --port "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break
  sleep 0.2
done
TOKEN="$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"fuzz@example.com","password":"correct horse battery staple","name":"Fuzz"}' |
  "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')"
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/openapi.json" \
  --checks not_a_server_error --max-time "$SECONDS_BUDGET" --workers 2 \
  -H "Authorization: Bearer $TOKEN"
