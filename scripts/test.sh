#!/usr/bin/env bash
# What `make test` runs after building the components: the plugin's native unit tests, then the
# harness, fake and integration tests, then the MCP client test (scripts/mcp-client-test.sh: the
# official Python SDK's 1.x and 2.x lines and the TypeScript SDK, over stdio and Streamable HTTP);
# ends with one line totalling every cargo test binary and every MCP client's checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$cargo" test -p plugin --lib -p graphql-bounds 2>&1 | tee -a "$log"
"$cargo" test -p tool-output --features schema 2>&1 | tee -a "$log"
"$cargo" test -p host-harness -p connector-tests 2>&1 | tee -a "$log"
# The MCP interoperability test with the official SDKs, on the cf-harness and fake-cloudflare
# binaries the cargo tests above built. A failure still lets the total print, then fails the run.
mcp_status=0
bash scripts/mcp-client-test.sh 2>&1 | tee -a "$log" || mcp_status=$?
awk '/^test result:/ {
       for (i = 2; i <= NF; i++) {
         if ($i == "passed;") passed += $(i - 1)
         if ($i == "failed;") failed += $(i - 1)
       }
     }
     END { printf "total: %d passed, %d failed\n", passed, failed }' "$log"
exit "$mcp_status"
