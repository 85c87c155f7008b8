#!/usr/bin/env python3
"""Interoperability check of `cf-harness mcp` with a client this project did not write.

Drives the server over stdio with the official Python MCP SDK (`mcp` on PyPI) and checks what a
client relies on: the handshake, the tool list and its schemas, a few calls against the fake
Cloudflare and their results, a bad argument and an unknown tool.

Usage: check_mcp.py [--timeout SECONDS] -- COMMAND [ARG...]

The server gets CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and ENABLED_SERVICES from this
script's environment (plus PATH and HOME), and runs in the current directory. Prints `ok NAME` or
`FAILED NAME: why` for each check, then one line in cargo's format so `make test` counts it, and
exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tomllib
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import jsonschema
from mcp import ClientSession, McpError, StdioServerParameters, types
from mcp.client.stdio import stdio_client

REPO = Path(__file__).resolve().parents[2]

EXPECTED_TOOLS = [
    "verify",
    "docs_search",
    "docs_read",
    "docs_products",
    "dns_list_zones",
    "dns_get_zone",
    "dns_records",
    "dns_report",
    "dns_timeseries",
    "graphql_query",
    "graphql_dataset_limits",
    "graphql_schema_search",
    "graphql_describe_type",
    "graphql_http_traffic",
    "graphql_top_http",
    "graphql_firewall_events",
]

# Every check, in the order it runs. A check that never ran (the server died, the session timed
# out) is reported as failed, so the count is the same on every run.
CHECKS = [
    "initialize",
    "tools-list-names",
    "tool-descriptions",
    "tool-read-only-hint",
    "input-schemas-valid",
    "input-schemas-closed-objects",
    "input-schema-properties-described",
    "call-verify",
    "call-docs-search",
    "call-dns-list-zones",
    "call-graphql-top-http",
    "call-dns-report",
    "bad-argument",
    "unknown-tool",
]

PASSED_ENV = ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "ENABLED_SERVICES", "PATH", "HOME"]


class CheckFailed(Exception):
    pass


def expect(cond: bool, why: str) -> None:
    if not cond:
        raise CheckFailed(why)


def short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def crate_version() -> str | None:
    """host-harness's version: its own, or the workspace's when it says `version.workspace`."""
    try:
        package = tomllib.loads((REPO / "host-harness" / "Cargo.toml").read_text())["package"]
        version = package.get("version")
        if isinstance(version, str):
            return version
        workspace = tomllib.loads((REPO / "Cargo.toml").read_text())
        return workspace["workspace"]["package"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


class Report:
    def __init__(self) -> None:
        self.results: dict[str, tuple[bool, str]] = {}

    def record(self, name: str, ok: bool, detail: str = "") -> None:
        assert name in CHECKS, name
        if name in self.results:
            return
        self.results[name] = (ok, detail)
        if ok:
            print(f"ok {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            print(f"FAILED {name}: {detail}", flush=True)

    def finish(self, why_not_run: str) -> int:
        for name in CHECKS:
            if name not in self.results:
                self.record(name, False, f"not run: {why_not_run}")
        failed = sum(1 for ok, _ in self.results.values() if not ok)
        passed = len(self.results) - failed
        status = "FAILED" if failed else "ok"
        print(
            f"test result: {status}. {passed} passed; {failed} failed; "
            "0 ignored; 0 measured; 0 filtered out",
            flush=True,
        )
        return 1 if failed else 0


async def run_check(report: Report, name: str, body) -> Any:
    """Runs one check; an exception other than a timeout is that check's failure."""
    try:
        detail = await body()
    except CheckFailed as e:
        report.record(name, False, str(e))
        return None
    except McpError as e:
        report.record(name, False, f"protocol error {e.error.code}: {e.error.message}")
        return None
    except anyio.get_cancelled_exc_class():
        raise
    except Exception as e:  # noqa: BLE001 - any other failure belongs to this check
        report.record(name, False, f"{type(e).__name__}: {e}")
        return None
    report.record(name, True, detail or "")
    return True


def tool_result_json(result) -> tuple[Any, Any]:
    """The JSON of the one text item, and structuredContent; fails unless they agree."""
    texts = [c for c in result.content if getattr(c, "type", None) == "text"]
    expect(
        len(result.content) == 1 and len(texts) == 1,
        f"content is not exactly one text item: {short([c.model_dump() for c in result.content])}",
    )
    try:
        from_text = json.loads(texts[0].text)
    except json.JSONDecodeError as e:
        raise CheckFailed(f"content text is not JSON ({e}): {short(texts[0].text)}") from e
    structured = result.structuredContent
    expect(structured is not None, f"no structuredContent; text was {short(texts[0].text)}")
    expect(
        from_text == structured,
        f"content text {short(from_text)} differs from structuredContent {short(structured)}",
    )
    return from_text, structured


async def call_ok(session: ClientSession, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    if result.isError:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise CheckFailed(
            f"isError true for {tool} {json.dumps(arguments)}: "
            f"structuredContent={short(result.structuredContent)} text={short(text)}"
        )
    _, structured = tool_result_json(result)
    expect(isinstance(structured, dict), f"structuredContent is not an object: {short(structured)}")
    return structured


async def run_checks(report: Report, session: ClientSession, expected_version: str | None) -> str | None:
    """Runs every check it can; says why it stopped early, if it did."""
    tools: list = []

    async def initialize():
        init = await session.initialize()
        info = init.serverInfo
        expect(info.name == "cf-harness", f"serverInfo.name is {info.name!r}, want 'cf-harness'")
        if expected_version is not None:
            expect(
                info.version == expected_version,
                f"serverInfo.version is {info.version!r}, want the crate version {expected_version!r}",
            )
        expect(init.capabilities.tools is not None, "capabilities has no `tools`")
        return f"{info.name} {info.version}, protocol {init.protocolVersion}"

    if not await run_check(report, "initialize", initialize):
        return "initialize failed"

    async def list_names():
        cursor = None
        for _ in range(20):
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        names = [t.name for t in tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        missing = [n for n in EXPECTED_TOOLS if n not in names]
        extra = [n for n in names if n not in EXPECTED_TOOLS]
        expect(not (dupes or missing or extra), f"missing {missing}, unexpected {extra}, duplicated {dupes}")
        return f"{len(names)} tools"

    await run_check(report, "tools-list-names", list_names)
    if not tools:
        return "tools/list returned no tools"

    async def descriptions():
        bad = [t.name for t in tools if not (t.description or "").strip()]
        expect(not bad, f"no description: {bad}")

    async def read_only():
        bad = [
            f"{t.name} ({'no annotations' if t.annotations is None else t.annotations.readOnlyHint!r})"
            for t in tools
            if t.annotations is None or t.annotations.readOnlyHint is not True
        ]
        expect(not bad, f"readOnlyHint is not true: {bad}")

    async def schemas_valid():
        bad = []
        for t in tools:
            try:
                jsonschema.Draft202012Validator.check_schema(t.inputSchema)
            except jsonschema.SchemaError as e:
                bad.append(f"{t.name}: {e.message} at {list(e.absolute_path)}")
        expect(not bad, "; ".join(bad))

    async def schemas_closed():
        bad = []
        for t in tools:
            s = t.inputSchema
            if s.get("type") != "object":
                bad.append(f"{t.name}: type is {s.get('type')!r}")
            if s.get("additionalProperties") is not False:
                bad.append(f"{t.name}: additionalProperties is {s.get('additionalProperties', 'absent')!r}")
            if not isinstance(s.get("properties", {}), dict):
                bad.append(f"{t.name}: properties is not an object")
        expect(not bad, "; ".join(bad))

    async def properties_described():
        bad = []
        for t in tools:
            for prop, ps in (t.inputSchema.get("properties") or {}).items():
                lacks = [k for k in ("description", "type") if not isinstance(ps, dict) or k not in ps]
                if lacks:
                    bad.append(f"{t.name}.{prop} lacks {'/'.join(lacks)}")
        expect(not bad, f"{len(bad)} properties: " + "; ".join(bad))

    await run_check(report, "tool-descriptions", descriptions)
    await run_check(report, "tool-read-only-hint", read_only)
    await run_check(report, "input-schemas-valid", schemas_valid)
    await run_check(report, "input-schemas-closed-objects", schemas_closed)
    await run_check(report, "input-schema-properties-described", properties_described)

    async def call_verify():
        out = await call_ok(session, "verify", {})
        expect(out.get("ready") is True, f"ready is {out.get('ready')!r}; result {short(out)}")

    async def call_docs_search():
        out = await call_ok(session, "docs_search", {"query": "create an API token", "limit": 3})
        hits = out.get("hits")
        expect(isinstance(hits, list) and hits, f"no hits: {short(out)}")
        want = "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/"
        got = hits[0].get("url") if isinstance(hits[0], dict) else None
        expect(got == want, f"hits[0].url is {got!r}, want {want!r}")
        expect(len(hits) <= 3, f"{len(hits)} hits for limit 3")
        return f"{len(hits)} hits"

    async def call_dns_list_zones():
        out = await call_ok(session, "dns_list_zones", {"per_page": 5})
        zones = out.get("zones")
        expect(isinstance(zones, list) and zones, f"zones is not a non-empty list: {short(out)}")
        total = (out.get("page") or {}).get("total_count")
        expect(isinstance(total, int) and total > 0, f"page.total_count is {total!r}")
        return f"{len(zones)} zones of {total}"

    async def call_graphql_top_http():
        args = {"zone": "github.com", "by": "country", "since": "6h", "limit": 3}
        out = await call_ok(session, "graphql_top_http", args)
        rows = out.get("rows")
        expect(isinstance(rows, list) and rows, f"no rows: {short(out)}")
        expect(rows[0].get("value") == "US", f"rows[0].value is {rows[0].get('value')!r}, want 'US'")

    async def call_dns_report():
        args = {"zone": "github.com", "dimensions": ["query-name"], "since": "24h"}
        out = await call_ok(session, "dns_report", args)
        rows = out.get("rows")
        expect(isinstance(rows, list) and rows, f"rows is not a non-empty list: {short(out)}")
        return f"{len(rows)} rows"

    await run_check(report, "call-verify", call_verify)
    await run_check(report, "call-docs-search", call_docs_search)
    await run_check(report, "call-dns-list-zones", call_dns_list_zones)
    await run_check(report, "call-graphql-top-http", call_graphql_top_http)
    await run_check(report, "call-dns-report", call_dns_report)

    async def bad_argument():
        args = {"query": "x", "limit": 0}
        result = await session.call_tool("docs_search", args)
        text = " ".join(getattr(c, "text", "") for c in result.content)
        expect(
            result.isError is True,
            f"sent docs_search {json.dumps(args)}: isError is {result.isError!r}, text {short(text)}",
        )
        expect(text.strip() != "", "no content text")
        structured = result.structuredContent
        expect(isinstance(structured, dict), f"structuredContent is {short(structured)}; text {short(text)}")
        error = structured.get("error")
        expect(isinstance(error, dict), f"structuredContent has no error object: {short(structured)}")
        expect(error.get("kind") == "invalid-input", f"error.kind is {error.get('kind')!r}: {short(error)}")
        expect(isinstance(error.get("message"), str) and error["message"], f"no error.message: {short(error)}")
        expect("hint" in error, f"error has no `hint` key (string or null): {short(error)}")
        expect(error.get("field") == "limit", f"error.field is {error.get('field', 'absent')!r}, want 'limit': {short(error)}")
        return error["message"]

    async def unknown_tool():
        try:
            result = await session.call_tool("no_such_tool", {})
        except McpError as e:
            return f"protocol error {e.error.code}: {e.error.message}"
        expect(result.isError is True, f"isError is {result.isError!r}: {short(result.model_dump())}")
        text = " ".join(getattr(c, "text", "") for c in result.content)
        return f"isError true: {short(text, 160)}"

    await run_check(report, "bad-argument", bad_argument)
    await run_check(report, "unknown-tool", unknown_tool)
    return None


def leaves(e: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or e itself."""
    if isinstance(e, BaseExceptionGroup):
        return [leaf for inner in e.exceptions for leaf in leaves(inner)]
    return [e]


def describe(e: BaseException) -> str:
    if isinstance(e, (anyio.BrokenResourceError, anyio.ClosedResourceError)):
        cause = f" ({type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
        return f"the connection to the server broke{cause}: did it exit?"
    return f"{type(e).__name__}: {e}"


async def main_async(command: list[str], timeout: float) -> int:
    report = Report()
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    missing = [k for k in PASSED_ENV[:3] if k not in env]
    if missing:
        print(f"check_mcp.py: {', '.join(missing)} not set", file=sys.stderr)
        return report.finish(f"{', '.join(missing)} not set")
    server = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=os.getcwd())
    why = "the session ended early"
    # The server's stderr goes to a file, shown only when something failed.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            with anyio.fail_after(timeout):
                async with stdio_client(server, errlog=errlog) as (read, write):
                    async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=min(timeout, 20.0))) as session:
                        why = await run_checks(report, session, crate_version()) or why
        except TimeoutError:
            why = f"the session took longer than {timeout:.0f} s"
        except BaseException as e:  # noqa: BLE001 - includes ExceptionGroup from the SDK's task group
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            causes = leaves(e)
            why = "the session failed: " + "; ".join(describe(c) for c in causes)
            if not all(isinstance(c, (anyio.BrokenResourceError, anyio.ClosedResourceError)) for c in causes):
                traceback.print_exception(e, file=sys.stderr)
        if any(not ok for ok, _ in report.results.values()) or len(report.results) < len(CHECKS):
            errlog.seek(0)
            tail = errlog.read()[-4000:]
            if tail.strip():
                print("--- server stderr (last 4000 characters) ---", file=sys.stderr)
                print(tail, file=sys.stderr)
                print("--- end of server stderr ---", file=sys.stderr)
    return report.finish(why)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=50.0, help="limit of the whole session, in seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...] that starts the server")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server command after --")
    print(f"MCP client test: {Path(command[0]).name} {' '.join(command[1:])} (Python MCP SDK)", flush=True)
    return anyio.run(main_async, command, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
