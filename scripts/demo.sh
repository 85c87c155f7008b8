#!/usr/bin/env bash
# Runs connect and verify through cf-harness against a simulated Cloudflare API on a free local
# port. Nothing leaves this machine; the token below is the fake's own, not a real one.
set -euo pipefail
cd "$(dirname "$0")/.."

fake_out=$(mktemp)
./target/debug/fake-cloudflare --scenario "${SCENARIO:-all-permissions}" >"$fake_out" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; rm -f "$fake_out"' EXIT
for _ in $(seq 50); do [ -s "$fake_out" ] && break; sleep 0.1; done
url=$(head -n 1 "$fake_out")

export CLOUDFLARE_API_TOKEN=cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a
export CLOUDFLARE_ACCOUNT_ID=01a7362d577a6c3019a474fd6f485823
export ENABLED_SERVICES="Documentation,DNS Analytics,GraphQL Analytics"
harness=(./target/debug/cf-harness --upstream "api.cloudflare.com=$url" --upstream "developers.cloudflare.com=$url")

echo "== Simulated Cloudflare API at $url (scenario: ${SCENARIO:-all-permissions}); no real account is used"
echo
echo "== cf-harness connect"
"${harness[@]}" connect
echo
echo "== cf-harness verify"
status=0
"${harness[@]}" verify || status=$?
echo
echo "== What does Cloudflare's documentation say? (no token needed)"
echo "   cf-harness call docs_search '{\"query\": \"GraphQL rate limits\", \"limit\": 2}'"
"${harness[@]}" call docs_search '{"query": "GraphQL rate limits", "limit": 2}' || true
echo
echo "== cf-harness call dns_list_zones '{\"per_page\": 5}'"
"${harness[@]}" call dns_list_zones '{"per_page": 5}' || true
echo
echo "== Which names got the most NXDOMAIN answers in the last 24 hours?"
echo "   cf-harness call dns_report '{\"zone\": \"github.com\", \"dimensions\": [\"query-name\"], \"filters\": [{\"dimension\": \"response-code\", \"value\": \"NXDOMAIN\"}], \"since\": \"24h\"}'"
"${harness[@]}" call dns_report '{"zone": "github.com", "dimensions": ["query-name"], "filters": [{"dimension": "response-code", "value": "NXDOMAIN"}], "since": "24h"}' || true
echo
echo "== Top countries by requests to github.com in the last 6 hours (a ready-made report)"
echo "   cf-harness call graphql_top_http '{\"zone\": \"github.com\", \"by\": \"country\", \"since\": \"6h\", \"limit\": 5}'"
"${harness[@]}" call graphql_top_http '{"zone": "github.com", "by": "country", "since": "6h", "limit": 5}' || true
echo
echo "== A custom GraphQL query with variables (\$accountTag is filled from the connection)"
since=$(date -u -d '-6 hours' +%Y-%m-%dT%H:%M:%SZ)
query='query($accountTag: string!, $since: Time!) { viewer { accounts(filter: {accountTag: $accountTag}) { firewallEventsAdaptiveGroups(limit: 5, filter: {datetime_geq: $since}, orderBy: [count_DESC]) { count dimensions { action ruleId } } } } }'
echo "   cf-harness call graphql_query '{\"query\": \"$query\", \"variables\": {\"since\": \"$since\"}}'"
"${harness[@]}" call graphql_query "{\"query\": \"$query\", \"variables\": {\"since\": \"$since\"}}" || true
echo
echo "(cf-harness verify exited with $status. Try another scenario: make demo SCENARIO=missing-dns-read;"
echo " list them with ./target/debug/fake-cloudflare --list-scenarios)"
