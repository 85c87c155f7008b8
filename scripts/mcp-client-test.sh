#!/usr/bin/env bash
# Interoperability test of cf-harness's MCP servers with the official MCP SDKs: clients this
# project did not write. Each client drives `cf-harness mcp` over stdio and `cf-harness serve`
# over Streamable HTTP, against a simulated Cloudflare API on a free local port:
#   python-1    the Python SDK's 1.x line (tests/mcp-client/requirements.txt, target/mcp-client-venv)
#   python-2    the Python SDK's 2.x line (tests/mcp-client/requirements-2.txt, target/mcp-client-venv-2),
#               over HTTP both with the initialize handshake and with the SDK Client's default (auto) mode
#   typescript  the TypeScript SDK on Node 20+ (tests/mcp-client-ts/, npm ci into its git-ignored node_modules)
# Usage: scripts/mcp-client-test.sh [python-1|python-2|typescript]...   (all three by default)
# Installs each client's pinned packages on the first run (from the Python package index, the npm
# registry) and again only when its requirements or lock file changes. Nothing else leaves this
# machine; the token below is the fake's own, not a real one.
# Needs `make plugin harness` first. Each run prints one line in cargo's format, which
# scripts/test.sh counts, and the script exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(python-1 python-2 typescript)
for c in "${clients[@]}"; do
  case $c in python-1 | python-2 | typescript) ;; *) echo "mcp-client-test: unknown client '$c' (python-1, python-2, typescript)" >&2; exit 2 ;; esac
done

status=0
# One failed line for something that stopped a client before its checks ran.
failed() {
  echo "mcp-client-test: $*" >&2
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
  status=1
}
fatal() {
  failed "$@"
  exit 1
}

for f in target/debug/cf-harness target/debug/fake-cloudflare target/wasm32-wasip2/release/cloudflare_connector.wasm; do
  [ -e "$f" ] || fatal "$f is missing: run make plugin harness first"
done

# A virtualenv: created once, reinstalled only when its requirements file changes (its hash is
# kept inside the venv) or the venv no longer runs (e.g. the Python it was made from is gone).
python_venv() { # REQUIREMENTS VENV
  local req=$1 venv=$2 want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" || { failed "python3 -m venv $venv failed (is python3-venv installed?)"; return 1; }
  fi
  if [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "mcp-client-test: installing $req into $venv"
    rm -f "$venv/requirements.sha256"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
      || { failed "pip install -r $req failed (the Python package index unreachable?)"; return 1; }
    echo "$want" >"$venv/requirements.sha256"
  fi
}

# The TypeScript client's packages: npm ci from the lock file into tests/mcp-client-ts/node_modules
# (git-ignored), again only when package-lock.json changes (its hash is kept in node_modules).
ts_dir=tests/mcp-client-ts
npm_install() {
  local want major
  command -v node >/dev/null && command -v npm >/dev/null \
    || { failed "node and npm are needed for the TypeScript client (Node 20 or newer)"; return 1; }
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || { failed "the TypeScript client needs Node 20 or newer, this is $(node --version)"; return 1; }
  want=$(sha256sum "$ts_dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$ts_dir/node_modules/.package-lock.sha256" 2>/dev/null)" != "$want" ]; then
    echo "mcp-client-test: installing $ts_dir/package-lock.json into $ts_dir/node_modules"
    (cd "$ts_dir" && npm ci --no-audit --no-fund --loglevel=error) \
      || { failed "npm ci in $ts_dir failed (the npm registry unreachable?)"; return 1; }
    echo "$want" >"$ts_dir/node_modules/.package-lock.sha256"
  fi
}

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

./target/debug/fake-cloudflare --scenario all-permissions >"$tmp/fake.out" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/fake.out" ] && break; sleep 0.1; done
url=$(head -n 1 "$tmp/fake.out")
case $url in http://127.0.0.1:*) ;; *) fatal "fake-cloudflare printed no base URL (got '$url')" ;; esac
upstreams=(--upstream "api.cloudflare.com=$url" --upstream "developers.cloudflare.com=$url")

# cf-harness serve: the tokens come with the requests, and it refuses to start with one in its
# environment. It prints its URL first, and /readyz answers 200 once the component is compiled.
env -u CLOUDFLARE_API_TOKEN ./target/debug/cf-harness "${upstreams[@]}" serve --listen 127.0.0.1:0 \
  >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
pids+=($serve_pid)
mcp_url=
for _ in $(seq 100); do
  mcp_url=$(head -n 1 "$tmp/serve.out")
  [ -n "$mcp_url" ] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
serve_log() {
  echo "--- cf-harness serve stderr (last 40 lines) ---" >&2
  tail -n 40 "$tmp/serve.err" >&2
  echo "--- end of cf-harness serve stderr ---" >&2
}
case $mcp_url in
  http://127.0.0.1:*/mcp) ;;
  *) serve_log; fatal "cf-harness serve printed no http://127.0.0.1:PORT/mcp URL (got '$mcp_url'; exited: $(kill -0 "$serve_pid" 2>/dev/null && echo no || echo yes))" ;;
esac
ready=${mcp_url%/mcp}/readyz
python3 - "$ready" <<'EOF' || { serve_log; fatal "cf-harness serve: GET $ready did not answer 200 within 60 s"; }
import sys, time, urllib.request
for _ in range(600):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF

export CLOUDFLARE_API_TOKEN=cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a
export CLOUDFLARE_ACCOUNT_ID=01a7362d577a6c3019a474fd6f485823
export ENABLED_SERVICES="Documentation,DNS Analytics,GraphQL Analytics"
stdio_server=(./target/debug/cf-harness "${upstreams[@]}" mcp)

# Runs one client; the checks limit their session to 50 s, the outer timeout only catches a
# client that hangs. Over HTTP, a failure shows the server's log.
run() { # LABEL http|stdio COMMAND...
  local label=$1 transport=$2 rc=0
  shift 2
  echo "== $label"
  timeout 90 "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then
    failed "$label did not finish within 90 s"
  elif [ "$rc" -ne 0 ]; then
    status=1
    [ "$transport" = stdio ] || serve_log
  fi
}

py_check=tests/mcp-client/check_mcp.py
for c in "${clients[@]}"; do
  case $c in
    python-1)
      venv=target/mcp-client-venv
      if python_venv tests/mcp-client/requirements.txt "$venv"; then
        run "Python SDK 1.x, stdio" stdio "$venv/bin/python" "$py_check" --timeout 50 -- "${stdio_server[@]}"
        run "Python SDK 1.x, Streamable HTTP" http "$venv/bin/python" "$py_check" --timeout 50 --url "$mcp_url"
      fi
      ;;
    python-2)
      venv=target/mcp-client-venv-2
      if python_venv tests/mcp-client/requirements-2.txt "$venv"; then
        run "Python SDK 2.x, stdio" stdio "$venv/bin/python" "$py_check" --timeout 50 -- "${stdio_server[@]}"
        run "Python SDK 2.x, Streamable HTTP" http "$venv/bin/python" "$py_check" --timeout 50 --url "$mcp_url"
        run "Python SDK 2.x, Streamable HTTP, auto mode" http \
          "$venv/bin/python" "$py_check" --timeout 50 --mode auto --url "$mcp_url"
      fi
      ;;
    typescript)
      if npm_install; then
        run "TypeScript SDK, stdio" stdio node "$ts_dir/check_mcp.mjs" --timeout 50 -- "${stdio_server[@]}"
        run "TypeScript SDK, Streamable HTTP" http node "$ts_dir/check_mcp.mjs" --timeout 50 --url "$mcp_url"
      fi
      ;;
  esac
done
exit "$status"
