#!/usr/bin/env bash
# What `make test` runs after building the components: the plugin's native unit tests, then the
# harness, fake and integration tests; ends with one line totalling every cargo test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$cargo" test -p plugin --lib 2>&1 | tee -a "$log"
"$cargo" test -p host-harness -p connector-tests 2>&1 | tee -a "$log"
awk '/^test result:/ {
       for (i = 2; i <= NF; i++) {
         if ($i == "passed;") passed += $(i - 1)
         if ($i == "failed;") failed += $(i - 1)
       }
     }
     END { printf "total: %d passed, %d failed\n", passed, failed }' "$log"
