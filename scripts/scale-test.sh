#!/usr/bin/env bash
# `make scale-test`: three `cf-harness serve` replicas behind HAProxy (sticky on Mcp-Session-Id),
# driven by the official Python MCP SDK with 50 concurrent sessions of two tenants against the
# fake Cloudflare; one replica is killed mid-run (tests/scale/drive.py). Reports whether the
# sessions on the survivors completed, whether those on the killed replica got an error and a new
# session at once, whether any answer crossed tenants, and whether a token reached any log.
# Installs HAProxy with the system's package manager (apt-get) when it is missing, and says so.
# Not part of `make test`. Nothing leaves this machine; the tokens are the fake's own.
set -euo pipefail
cd "$(dirname "$0")/.."

sessions=${SCALE_SESSIONS:-50}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v haproxy >/dev/null; then
  echo "scale-test: HAProxy is not installed: installing it with apt-get (the system's package manager)"
  if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy
fi

for f in target/debug/cf-harness target/debug/fake-cloudflare target/wasm32-wasip2/release/cloudflare_connector.wasm; do
  [ -e "$f" ] || { echo "scale-test: $f is missing: run make build first" >&2; exit 1; }
done

# The Python SDK, pinned as the MCP client test pins it.
req=tests/mcp-client/requirements.txt
venv=target/scale-test-venv
if ! "$venv/bin/python" -c 'import mcp, httpx' 2>/dev/null; then
  echo "scale-test: installing $req into $venv (from the Python package index)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
fi

# The first line a process prints, once it has printed it.
first_line() {
  for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.1; done
  head -n 1 "$1"
}

./target/debug/fake-cloudflare --scenario all-permissions >"$work/fake.out" &
pids+=($!)
fake=$(first_line "$work/fake.out")

ports=()
replica_pids=()
for n in 1 2 3; do
  env -u CLOUDFLARE_API_TOKEN ./target/debug/cf-harness \
    --upstream "api.cloudflare.com=$fake" --upstream "developers.cloudflare.com=$fake" \
    serve --listen 127.0.0.1:0 --max-sessions-per-token 64 >"$work/r$n.out" 2>"$work/r$n.log" &
  pid=$!
  # Killed on purpose below: the shell need not report it.
  disown "$pid"
  pids+=("$pid")
  replica_pids+=("$pid")
  url=$(first_line "$work/r$n.out")
  port=${url#http://127.0.0.1:}
  ports+=("${port%/mcp}")
done

front=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s/@FRONT@/$front/" -e "s/@P1@/${ports[0]}/" -e "s/@P2@/${ports[1]}/" -e "s/@P3@/${ports[2]}/" \
  deploy/haproxy.cfg >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=($!)

# Until every replica has compiled the plugin and HAProxy sees it up.
for n in 1 2 3; do
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:${ports[$((n - 1))]}/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$front/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
sleep 1

status=0
"$venv/bin/python" tests/scale/drive.py --url "http://127.0.0.1:$front/mcp" --sessions "$sessions" \
  --kill-pid "${replica_pids[0]}" --kill-name r1 || status=$?

leaks=0
for log in "$work"/r*.log "$work/haproxy.log"; do
  for token in cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a cfut_fake1second1tenant1token1b7e2c90d41a5f38; do
    if grep -q "$token" "$log"; then echo "FAILED: a token in $(basename "$log")"; leaks=1; fi
  done
done
[ "$leaks" -eq 0 ] && echo "  tokens in the replicas' and the load balancer's logs: none"
[ "$status" -eq 0 ] && [ "$leaks" -eq 0 ] && echo "scale test: passed" || { echo "scale test: FAILED"; exit 1; }
