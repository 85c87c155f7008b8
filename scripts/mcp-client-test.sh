#!/usr/bin/env bash
# Interoperability test of `cf-harness mcp` with the official Python MCP SDK: a client this project
# did not write. Runs tests/mcp-client/check_mcp.py in a local virtualenv (target/mcp-client-venv,
# installed from tests/mcp-client/requirements.txt, reused while that file is unchanged) against
# cf-harness and a simulated Cloudflare API on a free local port. Nothing leaves this machine; the
# token below is the fake's own, not a real one.
# Needs `make plugin harness` first. Ends with one line in cargo's format, which scripts/test.sh
# counts, and exits non-zero if a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

req=tests/mcp-client/requirements.txt
venv=target/mcp-client-venv
stamp=$venv/requirements.sha256

fail() {
  echo "mcp-client-test: $*" >&2
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
  exit 1
}

for f in target/debug/cf-harness target/debug/fake-cloudflare target/wasm32-wasip2/release/cloudflare_connector.wasm; do
  [ -e "$f" ] || fail "$f is missing: run make plugin harness first"
done

# The virtualenv: created once, reinstalled only when requirements.txt changes (its hash is kept
# inside the venv) or the venv no longer runs (e.g. the Python it was made from is gone).
want=$(sha256sum "$req" | cut -d' ' -f1)
if ! "$venv/bin/python" -c '' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv $venv failed"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "mcp-client-test: installing $req into $venv"
  rm -f "$stamp"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
    || fail "pip install -r $req failed"
  echo "$want" >"$stamp"
fi

fake_out=$(mktemp)
./target/debug/fake-cloudflare --scenario all-permissions >"$fake_out" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; rm -f "$fake_out"' EXIT
for _ in $(seq 50); do [ -s "$fake_out" ] && break; sleep 0.1; done
url=$(head -n 1 "$fake_out")
case $url in http://127.0.0.1:*) ;; *) fail "fake-cloudflare printed no base URL (got '$url')" ;; esac

export CLOUDFLARE_API_TOKEN=cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a
export CLOUDFLARE_ACCOUNT_ID=01a7362d577a6c3019a474fd6f485823
export ENABLED_SERVICES="Documentation,DNS Analytics,GraphQL Analytics"

# check_mcp.py limits its session to 50 s; the outer timeout only catches a client that hangs.
status=0
timeout 90 "$venv/bin/python" tests/mcp-client/check_mcp.py --timeout 50 -- \
  ./target/debug/cf-harness --upstream "api.cloudflare.com=$url" --upstream "developers.cloudflare.com=$url" mcp \
  || status=$?
[ "$status" -ne 124 ] || fail "check_mcp.py did not finish within 90 s"
exit "$status"
