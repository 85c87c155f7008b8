#!/usr/bin/env python3
"""Interoperability check of cf-harness's MCP servers with a client this project did not write.

Drives `cf-harness mcp` over stdio, or `cf-harness serve` over Streamable HTTP, with the official
Python MCP SDK (`mcp` on the Python package index; the 1.x and the 2.x lines both run it) and
checks what a client relies on: the handshake, the tool list and its schemas, a few calls against
the fake Cloudflare and their results, a bad argument and an unknown tool; over HTTP also that a
request without a token is answered 401 with WWW-Authenticate.

Usage: check_mcp.py [--timeout SECONDS] -- COMMAND [ARG...]       (stdio: starts the server)
       check_mcp.py [--timeout SECONDS] [--mode legacy|auto] --url URL   (Streamable HTTP)

Both take CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and ENABLED_SERVICES from this script's
environment: over stdio the server gets them (plus PATH and HOME) and runs in the current
directory; over HTTP they become each request's `Authorization: Bearer`,
`X-Cloudflare-Account-Id` and `X-Cloudflare-Enabled-Services` headers. `--mode auto` (SDK 2.x
only) connects as the SDK's `Client` does by default: it probes `server/discover` and uses the
stateless 2026-07-28 revision when the server offers it; `legacy` (the default) is the
`initialize` handshake. Prints `ok NAME` or `FAILED NAME: why` for each check, then one line in
cargo's format so `make test` counts it, and exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import tomllib
import traceback
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import jsonschema
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

try:  # 1.x
    from mcp import McpError
except ImportError:  # 2.x renamed it
    from mcp import MCPError as McpError

SDK_VERSION = importlib.metadata.version("mcp")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])
if SDK_MAJOR >= 2:
    import httpx2 as httpx
else:
    import httpx

REPO = Path(__file__).resolve().parents[2]

# One call per tool (connect included), shared with the TypeScript client and the Rust tests.
TOOL_CALLS = {
    name: args
    for name, args in json.loads((Path(__file__).parent / "tool_calls.json").read_text()).items()
    if not name.startswith("_")
}
SERVICE_META = "cf-harness/service"
SERVICE_BY_PREFIX = {"docs_": "documentation", "dns_": "dns-analytics", "graphql_": "graphql-analytics"}
DOCS_PAGE = "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/"

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
    "tool-titles-annotations-service",
    "output-schemas-valid",
    "call-verify",
    "call-docs-search",
    "call-dns-list-zones",
    "call-graphql-top-http",
    "call-dns-report",
    "call-dns-report-defaults",
    "bad-argument",
    "unknown-tool",
    "call-every-tool-against-its-output-schema",
    "resource-template",
    "resource-read",
    "prompt-troubleshoot-connection",
]
# Over stdio only: over HTTP the notification goes to the session's GET stream.
STDIO_CHECKS = ["list-changed-after-connect"]
# Over Streamable HTTP only.
HTTP_CHECKS = ["http-no-token-is-401"]

PASSED_ENV = ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "ENABLED_SERVICES", "PATH", "HOME"]


class CheckFailed(Exception):
    pass


def expect(cond: bool, why: str) -> None:
    if not cond:
        raise CheckFailed(why)


def short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def wire(model: Any) -> Any:
    """A result as it was on the wire (camelCase keys), whichever SDK line parsed it: 1.x models
    have camelCase attributes, 2.x snake_case ones, both dump by alias to the protocol's names."""
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


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
    def __init__(self, checks: list[str]) -> None:
        self.checks = checks
        self.results: dict[str, tuple[bool, str]] = {}

    def record(self, name: str, ok: bool, detail: str = "") -> None:
        assert name in self.checks, name
        if name in self.results:
            return
        self.results[name] = (ok, detail)
        if ok:
            print(f"ok {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            print(f"FAILED {name}: {detail}", flush=True)

    def failed(self) -> bool:
        return any(not ok for ok, _ in self.results.values()) or len(self.results) < len(self.checks)

    def finish(self, why_not_run: str) -> int:
        for name in self.checks:
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


class Conn:
    """The calls the checks make, on a `ClientSession` (the `initialize` handshake, either SDK
    line) or a 2.x `Client` (`--mode auto`); every answer as its wire JSON."""

    def __init__(self, session: Any, client: Any = None, list_changed: Any = None) -> None:
        self.session = session
        self.client = client
        # Set when the server sends notifications/tools/list_changed (stdio sessions).
        self.list_changed = list_changed

    def target(self) -> Any:
        return self.client if self.client is not None else self.session

    async def list_resource_templates(self) -> dict[str, Any]:
        return wire(await self.target().list_resource_templates())

    async def read_resource(self, uri: str) -> dict[str, Any]:
        if SDK_MAJOR < 2:
            from pydantic import AnyUrl

            return wire(await self.session.read_resource(AnyUrl(uri)))
        return wire(await self.target().read_resource(uri))

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> dict[str, Any]:
        return wire(await self.target().get_prompt(name, arguments))

    async def initialize(self) -> dict[str, Any]:
        if self.client is None:
            return wire(await self.session.initialize())
        # The 2.x Client negotiated when it was entered (server/discover, or initialize).
        c = self.client
        return {
            "protocolVersion": c.protocol_version,
            "serverInfo": wire(c.server_info) if c.server_info is not None else None,
            "capabilities": wire(c.server_capabilities),
        }

    async def list_tools(self, cursor: str | None) -> dict[str, Any]:
        if self.client is not None:
            return wire(await self.client.list_tools(cursor=cursor))
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        return wire(await self.session.list_tools(params=params))

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        target = self.client if self.client is not None else self.session
        return wire(await target.call_tool(name, arguments))


def content_text(result: dict[str, Any]) -> str:
    return " ".join(c.get("text", "") for c in result.get("content") or [])


def tool_result_json(result: dict[str, Any]) -> tuple[Any, Any]:
    """The JSON of the one text item, and structuredContent; fails unless they agree."""
    content = result.get("content") or []
    texts = [c for c in content if c.get("type") == "text"]
    expect(
        len(content) == 1 and len(texts) == 1,
        f"content is not exactly one text item: {short(content)}",
    )
    try:
        from_text = json.loads(texts[0]["text"])
    except json.JSONDecodeError as e:
        raise CheckFailed(f"content text is not JSON ({e}): {short(texts[0]['text'])}") from e
    structured = result.get("structuredContent")
    expect(structured is not None, f"no structuredContent; text was {short(texts[0]['text'])}")
    expect(
        from_text == structured,
        f"content text {short(from_text)} differs from structuredContent {short(structured)}",
    )
    return from_text, structured


async def call_ok(conn: Conn, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await conn.call_tool(tool, arguments)
    if result.get("isError"):
        raise CheckFailed(
            f"isError true for {tool} {json.dumps(arguments)}: "
            f"structuredContent={short(result.get('structuredContent'))} text={short(content_text(result))}"
        )
    _, structured = tool_result_json(result)
    expect(isinstance(structured, dict), f"structuredContent is not an object: {short(structured)}")
    return structured


async def run_checks(report: Report, conn: Conn, expected_version: str | None) -> str | None:
    """Runs every check it can; says why it stopped early, if it did."""
    tools: list[dict[str, Any]] = []

    async def initialize():
        init = await conn.initialize()
        info = init.get("serverInfo") or {}
        expect(info.get("name") == "cf-harness", f"serverInfo.name is {info.get('name')!r}, want 'cf-harness'")
        if expected_version is not None:
            expect(
                info.get("version") == expected_version,
                f"serverInfo.version is {info.get('version')!r}, want the crate version {expected_version!r}",
            )
        expect((init.get("capabilities") or {}).get("tools") is not None, "capabilities has no `tools`")
        return f"{info.get('name')} {info.get('version')}, protocol {init.get('protocolVersion')}"

    if not await run_check(report, "initialize", initialize):
        return "initialize failed"

    async def list_names():
        cursor = None
        for _ in range(20):
            page = await conn.list_tools(cursor)
            tools.extend(page.get("tools") or [])
            cursor = page.get("nextCursor")
            if not cursor:
                break
        names = [t.get("name") for t in tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        missing = [n for n in EXPECTED_TOOLS if n not in names]
        extra = [n for n in names if n not in EXPECTED_TOOLS]
        expect(not (dupes or missing or extra), f"missing {missing}, unexpected {extra}, duplicated {dupes}")
        return f"{len(names)} tools"

    await run_check(report, "tools-list-names", list_names)
    if not tools:
        return "tools/list returned no tools"

    async def descriptions():
        bad = [t["name"] for t in tools if not (t.get("description") or "").strip()]
        expect(not bad, f"no description: {bad}")

    async def read_only():
        bad = [
            f"{t['name']} ({'no annotations' if 'annotations' not in t else t['annotations'].get('readOnlyHint')!r})"
            for t in tools
            if (t.get("annotations") or {}).get("readOnlyHint") is not True
        ]
        expect(not bad, f"readOnlyHint is not true: {bad}")

    async def schemas_valid():
        bad = []
        for t in tools:
            try:
                jsonschema.Draft202012Validator.check_schema(t.get("inputSchema"))
            except jsonschema.SchemaError as e:
                bad.append(f"{t['name']}: {e.message} at {list(e.absolute_path)}")
        expect(not bad, "; ".join(bad))

    async def schemas_closed():
        bad = []
        for t in tools:
            s = t.get("inputSchema") or {}
            if s.get("type") != "object":
                bad.append(f"{t['name']}: type is {s.get('type')!r}")
            if s.get("additionalProperties") is not False:
                bad.append(f"{t['name']}: additionalProperties is {s.get('additionalProperties', 'absent')!r}")
            if not isinstance(s.get("properties", {}), dict):
                bad.append(f"{t['name']}: properties is not an object")
        expect(not bad, "; ".join(bad))

    async def properties_described():
        bad = []
        for t in tools:
            for prop, ps in ((t.get("inputSchema") or {}).get("properties") or {}).items():
                lacks = [k for k in ("description", "type") if not isinstance(ps, dict) or k not in ps]
                if lacks:
                    bad.append(f"{t['name']}.{prop} lacks {'/'.join(lacks)}")
        expect(not bad, f"{len(bad)} properties: " + "; ".join(bad))

    await run_check(report, "tool-descriptions", descriptions)
    await run_check(report, "tool-read-only-hint", read_only)
    await run_check(report, "input-schemas-valid", schemas_valid)
    await run_check(report, "input-schemas-closed-objects", schemas_closed)
    await run_check(report, "input-schema-properties-described", properties_described)

    async def call_verify():
        out = await call_ok(conn, "verify", {})
        expect(out.get("ready") is True, f"ready is {out.get('ready')!r}; result {short(out)}")

    async def call_docs_search():
        out = await call_ok(conn, "docs_search", {"query": "create an API token", "limit": 3})
        hits = out.get("hits")
        expect(isinstance(hits, list) and hits, f"no hits: {short(out)}")
        want = "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/"
        got = hits[0].get("url") if isinstance(hits[0], dict) else None
        expect(got == want, f"hits[0].url is {got!r}, want {want!r}")
        expect(len(hits) <= 3, f"{len(hits)} hits for limit 3")
        return f"{len(hits)} hits"

    async def call_dns_list_zones():
        out = await call_ok(conn, "dns_list_zones", {"per_page": 5})
        zones = out.get("zones")
        expect(isinstance(zones, list) and zones, f"zones is not a non-empty list: {short(out)}")
        total = (out.get("page") or {}).get("total_count")
        expect(isinstance(total, int) and total > 0, f"page.total_count is {total!r}")
        return f"{len(zones)} zones of {total}"

    async def call_graphql_top_http():
        args = {"zone": "github.com", "by": "country", "since": "6h", "limit": 3}
        out = await call_ok(conn, "graphql_top_http", args)
        rows = out.get("rows")
        expect(isinstance(rows, list) and rows, f"no rows: {short(out)}")
        expect(rows[0].get("value") == "US", f"rows[0].value is {rows[0].get('value')!r}, want 'US'")

    async def dns_report(args: dict[str, Any]):
        out = await call_ok(conn, "dns_report", args)
        rows = out.get("rows")
        expect(isinstance(rows, list) and rows, f"rows is not a non-empty list: {short(out)}")
        return f"{len(rows)} rows"

    await run_check(report, "call-verify", call_verify)
    await run_check(report, "call-docs-search", call_docs_search)
    await run_check(report, "call-dns-list-zones", call_dns_list_zones)
    await run_check(report, "call-graphql-top-http", call_graphql_top_http)
    await run_check(
        report, "call-dns-report", lambda: dns_report({"zone": "github.com", "dimensions": ["query-name"], "since": "24h"})
    )
    await run_check(report, "call-dns-report-defaults", lambda: dns_report({"zone": "github.com", "since": "24h"}))

    async def bad_argument():
        args = {"query": "x", "limit": 0}
        result = await conn.call_tool("docs_search", args)
        text = content_text(result)
        expect(
            result.get("isError") is True,
            f"sent docs_search {json.dumps(args)}: isError is {result.get('isError')!r}, text {short(text)}",
        )
        expect(text.strip() != "", "no content text")
        structured = result.get("structuredContent")
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
            result = await conn.call_tool("no_such_tool", {})
        except McpError as e:
            return f"protocol error {e.error.code}: {e.error.message}"
        expect(result.get("isError") is True, f"isError is {result.get('isError')!r}: {short(result)}")
        return f"isError true: {short(content_text(result), 160)}"

    await run_check(report, "bad-argument", bad_argument)
    await run_check(report, "unknown-tool", unknown_tool)

    by_name = {t["name"]: t for t in tools}

    async def titles_annotations_service():
        bad = []
        for t in tools:
            name, notes = t["name"], (t.get("annotations") or {})
            if not (t.get("title") or "").strip():
                bad.append(f"{name}: no title")
            for hint in ("idempotentHint", "openWorldHint"):
                if notes.get(hint) is not True:
                    bad.append(f"{name}: {hint} is {notes.get(hint)!r}")
            if notes.get("destructiveHint") is not False:
                bad.append(f"{name}: destructiveHint is {notes.get('destructiveHint')!r}")
            want = next((v for k, v in SERVICE_BY_PREFIX.items() if name.startswith(k)), None)
            got = (t.get("_meta") or {}).get(SERVICE_META)
            if got != want:
                bad.append(f"{name}: _meta[{SERVICE_META!r}] is {got!r}, want {want!r}")
        expect(not bad, "; ".join(bad))

    async def output_schemas_valid():
        bad = []
        for t in tools:
            schema = t.get("outputSchema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                bad.append(f"{t['name']}: outputSchema is {short(schema, 80)}")
                continue
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as e:
                bad.append(f"{t['name']}: {e.message} at {list(e.absolute_path)}")
        expect(not bad, "; ".join(bad))

    async def call_every_tool():
        # The SDK itself checks structuredContent against outputSchema; this checks it again
        # with jsonschema, so a client that did not would not hide a mismatch.
        called = []
        for name, args in TOOL_CALLS.items():
            if name == "connect":
                continue  # last, in its own check: it changes the catalog
            out = await call_ok(conn, name, args)
            try:
                jsonschema.validate(out, by_name[name]["outputSchema"])
            except jsonschema.ValidationError as e:
                raise CheckFailed(f"{name}: {e.message} at {list(e.absolute_path)}") from None
            called.append(name)
        missing = [n for n in by_name if n not in called]
        expect(not missing, f"tool_calls.json has no call for {missing}")
        # An error result validates too (its `{"error": ...}` is one branch of every schema).
        result = await conn.call_tool("docs_search", {"query": "x", "limit": 0})
        error = (result.get("structuredContent") or {}).get("error") or {}
        expect("docs_url" in error, f"error has no `docs_url` key: {short(error)}")
        jsonschema.validate(result["structuredContent"], by_name["docs_search"]["outputSchema"])
        return f"{len(called)} tools and an error"

    async def resource_template():
        templates = (await conn.list_resource_templates()).get("resourceTemplates") or []
        uris = [t.get("uriTemplate") for t in templates]
        expect("https://developers.cloudflare.com/{+path}" in uris, f"templates: {uris}")
        return uris[0]

    async def resource_read():
        contents = (await conn.read_resource(DOCS_PAGE)).get("contents") or []
        expect(contents, "no contents")
        first = contents[0]
        expect(first.get("mimeType") == "text/markdown", f"mimeType is {first.get('mimeType')!r}")
        expect("API token" in (first.get("text") or ""), f"text: {short(first.get('text'))}")
        return f"{len(first['text'])} characters of Markdown"

    async def prompt():
        result = await conn.get_prompt("troubleshoot-connection", {"service": "dns-analytics"})
        text = " ".join(
            (m.get("content") or {}).get("text", "") for m in result.get("messages") or []
        )
        for words in ("verify", "Zone -> Analytics -> Read"):
            expect(words in text, f"the prompt does not mention {words!r}: {short(text)}")
        return f"{len(result.get('messages') or [])} messages"

    await run_check(report, "tool-titles-annotations-service", titles_annotations_service)
    await run_check(report, "output-schemas-valid", output_schemas_valid)
    await run_check(report, "call-every-tool-against-its-output-schema", call_every_tool)
    await run_check(report, "resource-template", resource_template)
    await run_check(report, "resource-read", resource_read)
    await run_check(report, "prompt-troubleshoot-connection", prompt)

    if conn.list_changed is not None:

        async def list_changed_after_connect():
            await call_ok(conn, "connect", TOOL_CALLS["connect"])
            with anyio.fail_after(10):
                await conn.list_changed.wait()
            return "notifications/tools/list_changed"

        await run_check(report, "list-changed-after-connect", list_changed_after_connect)
    return None


def credentials() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED_ENV if k in os.environ}


def http_headers(env: dict[str, str]) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {env['CLOUDFLARE_API_TOKEN']}",
        "X-Cloudflare-Account-Id": env["CLOUDFLARE_ACCOUNT_ID"],
        "X-Cloudflare-Enabled-Services": env["ENABLED_SERVICES"],
    }


def no_token_is_401(url: str, env: dict[str, str]) -> str:
    """An initialize POSTed with the account and services headers but no Authorization."""
    headers = {k: v for k, v in http_headers(env).items() if k != "Authorization"}
    headers |= {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "check_mcp.py", "version": "0"},
        },
    }
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raise CheckFailed(f"answered HTTP {response.status}, want 401: {short(response.read().decode(errors='replace'))}")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        expect(e.code == 401, f"answered HTTP {e.code}, want 401: {short(text)}")
        challenge = e.headers.get("WWW-Authenticate")
        expect(challenge is not None, f"401 without WWW-Authenticate; headers {dict(e.headers)}")
        expect(challenge.lower().startswith("bearer"), f"WWW-Authenticate is {challenge!r}, want a Bearer challenge")
        try:
            kind = json.loads(text)["error"]["kind"]
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"the 401's body is not {{\"error\": {{\"kind\", ...}}}}: {short(text)}") from None
        return f"WWW-Authenticate: {challenge}; error.kind {kind}"


def leaves(e: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or e itself."""
    if isinstance(e, BaseExceptionGroup):
        return [leaf for inner in e.exceptions for leaf in leaves(inner)]
    return [e]


def describe(e: BaseException) -> str:
    if isinstance(e, (anyio.BrokenResourceError, anyio.ClosedResourceError)):
        cause = f" ({type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
        return f"the connection to the server broke{cause}: did it exit?"
    if isinstance(e, httpx.HTTPStatusError):
        return f"HTTP {e.response.status_code} from {e.request.method} {e.request.url}"
    if isinstance(e, httpx.TransportError):
        return f"{type(e).__name__} talking to the server: {e}: is it running?"
    return f"{type(e).__name__}: {e}"


def read_timeout(seconds: float) -> Any:
    """ClientSession's read timeout: a timedelta in 1.x, seconds in 2.x."""
    return seconds if SDK_MAJOR >= 2 else timedelta(seconds=seconds)


async def session_over_stdio(report: Report, command: list[str], env: dict[str, str], errlog, timeout: float) -> str | None:
    server = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=os.getcwd())
    list_changed = anyio.Event()

    async def on_message(message: Any) -> None:
        notification = getattr(message, "root", message)
        if type(notification).__name__ == "ToolListChangedNotification":
            list_changed.set()

    async with stdio_client(server, errlog=errlog) as streams:
        async with ClientSession(
            streams[0], streams[1], read_timeout_seconds=read_timeout(min(timeout, 20.0)), message_handler=on_message
        ) as session:
            return await run_checks(report, Conn(session, list_changed=list_changed), crate_version())


async def session_over_http(report: Report, url: str, mode: str, env: dict[str, str], timeout: float) -> str | None:
    await run_check(report, "http-no-token-is-401", lambda: anyio.to_thread.run_sync(no_token_is_401, url, env))
    # The SDK takes headers on an httpx client it is given (httpx2 in 2.x).
    http = httpx.AsyncClient(headers=http_headers(env), timeout=httpx.Timeout(20.0, read=min(timeout, 20.0)))
    async with http:
        transport = streamable_http_client(url, http_client=http)
        if mode == "auto":
            from mcp import Client

            async with Client(transport, read_timeout_seconds=min(timeout, 20.0)) as client:
                return await run_checks(report, Conn(client.session, client), crate_version())
        async with transport as streams:  # 1.x yields a third item, the session ID getter
            async with ClientSession(streams[0], streams[1], read_timeout_seconds=read_timeout(min(timeout, 20.0))) as session:
                return await run_checks(report, Conn(session), crate_version())


async def main_async(args: argparse.Namespace, command: list[str]) -> int:
    report = Report((HTTP_CHECKS if args.url else []) + CHECKS + ([] if args.url else STDIO_CHECKS))
    env = credentials()
    missing = [k for k in PASSED_ENV[:3] if k not in env]
    if missing:
        print(f"check_mcp.py: {', '.join(missing)} not set", file=sys.stderr)
        return report.finish(f"{', '.join(missing)} not set")
    timeout = args.timeout
    why = "the session ended early"
    # Over stdio the server's stderr goes to a file, shown only when something failed (over HTTP
    # the script that started the server shows its log).
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            with anyio.fail_after(timeout):
                if args.url:
                    why = await session_over_http(report, args.url, args.mode, env, timeout) or why
                else:
                    why = await session_over_stdio(report, command, env, errlog, timeout) or why
        except TimeoutError:
            why = f"the session took longer than {timeout:.0f} s"
        except BaseException as e:  # noqa: BLE001 - includes ExceptionGroup from the SDK's task group
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            causes = leaves(e)
            why = "the session failed: " + "; ".join(describe(c) for c in causes)
            quiet = (anyio.BrokenResourceError, anyio.ClosedResourceError, httpx.HTTPStatusError, httpx.TransportError)
            if not all(isinstance(c, quiet) for c in causes):
                traceback.print_exception(e, file=sys.stderr)
        if report.failed() and not args.url:
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
    parser.add_argument("--url", help="the server's Streamable HTTP endpoint (http://HOST:PORT/mcp) instead of a command")
    parser.add_argument(
        "--mode",
        choices=["legacy", "auto"],
        default="legacy",
        help="over HTTP: the initialize handshake (legacy), or the 2.x Client's default negotiation (auto)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...] that starts the server")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if bool(command) == bool(args.url):
        parser.error("give either --url URL or the server command after --")
    if args.mode == "auto" and SDK_MAJOR < 2:
        parser.error(f"--mode auto needs the 2.x SDK (this is {SDK_VERSION})")
    if args.url:
        target = f"{args.url} over Streamable HTTP" + (", mode auto" if args.mode == "auto" else "")
    else:
        target = f"{Path(command[0]).name} {' '.join(command[1:])} over stdio"
    print(f"MCP client test: {target} (Python MCP SDK {SDK_VERSION})", flush=True)
    return anyio.run(main_async, args, command)


if __name__ == "__main__":
    sys.exit(main())
