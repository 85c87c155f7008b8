"""Drives cf-harness serve replicas behind a load balancer with the official Python MCP SDK:
many concurrent sessions of two tenants, one replica killed mid-run (scripts/scale-test.sh).

Each session: initialize, verify (its account must be its tenant's), then, after the kill,
docs_search and dns_list_zones. A session whose replica was killed must fail with an error a
client can read, and a new session must work at once. Prints a report and exits non-zero when
a promise does not hold.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

TENANTS = [
    ("cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a", "01a7362d577a6c3019a474fd6f485823"),
    ("cfut_fake1second1tenant1token1b7e2c90d41a5f38", "f037e56e89293a057740de681ac9abbe"),
]
SERVICES = "Documentation,DNS Analytics"


def structured(result):
    if result.structuredContent is not None:
        return result.structuredContent
    return json.loads(result.content[0].text)


def tenant_client(tenant, hooks):
    """An HTTP client sending the tenant's credentials on every request."""
    token, account = TENANTS[tenant]
    return httpx.AsyncClient(
        headers={
            "Authorization": f"Bearer {token}",
            "X-Cloudflare-Account-Id": account,
            "X-Cloudflare-Enabled-Services": SERVICES,
        },
        timeout=httpx.Timeout(30, read=60),
        event_hooks={"response": hooks},
    )


class Outcome:
    def __init__(self, n, tenant):
        self.n = n
        self.tenant = tenant
        self.served_by = set()
        self.completed = False
        self.error = None
        self.recovered = None
        self.cross_tenant = False


async def session_run(url, outcome, killed, after_first):
    _, account = TENANTS[outcome.tenant]

    async def record(response):
        server = response.headers.get("x-served-by")
        if server:
            outcome.served_by.add(server)

    async with tenant_client(outcome.tenant, [record]) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                report = structured(await session.call_tool("verify", {}))
                if report.get("account_id") != account:
                    outcome.cross_tenant = True
                after_first.release()
                await killed.wait()
                search = await session.call_tool("docs_search", {"query": "create an API token"})
                if search.isError:
                    raise RuntimeError(f"docs_search: {search.content[0].text[:200]}")
                zones = await session.call_tool("dns_list_zones", {})
                if zones.isError:
                    raise RuntimeError(f"dns_list_zones: {zones.content[0].text[:200]}")
                outcome.completed = True


async def fresh_session(url, outcome):
    """A new session right after a failure: it must work at once."""
    _, account = TENANTS[outcome.tenant]
    async with tenant_client(outcome.tenant, []) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                report = structured(await session.call_tool("verify", {}))
                return report.get("account_id") == account


def describe(error):
    """The first readable line of an exception, through exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = f"{type(error).__name__}: {error}".strip()
    return text.splitlines()[0][:160] if text else type(error).__name__


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--kill-pid", type=int, required=True)
    parser.add_argument("--kill-name", required=True, help="the killed replica's server name")
    args = parser.parse_args()

    outcomes = [Outcome(n, n % 2) for n in range(args.sessions)]
    killed = asyncio.Event()
    after_first = asyncio.Semaphore(0)
    started = time.monotonic()

    async def one(outcome):
        try:
            await session_run(args.url, outcome, killed, after_first)
        except BaseException as error:  # noqa: BLE001 - every failure is reported
            outcome.error = describe(error)
            after_first.release()
            try:
                outcome.recovered = await fresh_session(args.url, outcome)
            except BaseException as again:  # noqa: BLE001
                outcome.recovered = False
                outcome.error += f"; the new session failed too: {describe(again)}"

    tasks = [asyncio.create_task(one(o)) for o in outcomes]
    # Every session has made its first call (or failed): kill one replica mid-run.
    for _ in outcomes:
        await after_first.acquire()
    os.kill(args.kill_pid, signal.SIGKILL)
    killed.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=180)
    elapsed = time.monotonic() - started

    on_killed = [o for o in outcomes if args.kill_name in o.served_by]
    survivors = [o for o in outcomes if args.kill_name not in o.served_by]
    failures = []
    survivors_done = sum(o.completed for o in survivors)
    if survivors_done != len(survivors):
        failures.append(f"{len(survivors) - survivors_done} sessions on surviving replicas did not complete")
    killed_errors = [o for o in on_killed if o.error]
    if not on_killed:
        failures.append("no session was on the killed replica: the test proves nothing")
    if len(killed_errors) != len(on_killed):
        failures.append("a session on the killed replica completed without an error")
    not_recovered = [o for o in on_killed if not o.recovered]
    if not_recovered:
        failures.append(f"{len(not_recovered)} sessions could not start a new session at once")
    cross = [o for o in outcomes if o.cross_tenant]
    if cross:
        failures.append(f"{len(cross)} sessions saw another tenant's account")
    replicas = sorted({s for o in outcomes for s in o.served_by})

    print(f"scale test: {len(outcomes)} concurrent sessions of 2 tenants in {elapsed:.1f} s, "
          f"through replicas {', '.join(replicas)}")
    print(f"  surviving replicas: {survivors_done}/{len(survivors)} sessions completed every call")
    print(f"  killed replica {args.kill_name}: {len(killed_errors)}/{len(on_killed)} sessions got an "
          f"error, {sum(bool(o.recovered) for o in on_killed)}/{len(on_killed)} started a new session at once")
    if killed_errors:
        print(f"  the error a client saw: {killed_errors[0].error}")
    print(f"  cross-tenant answers: {len(cross)}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
