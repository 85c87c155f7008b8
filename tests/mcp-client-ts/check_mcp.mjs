#!/usr/bin/env node
// Interoperability check of cf-harness's MCP servers with the official TypeScript MCP SDK
// (@modelcontextprotocol/sdk from the npm registry, pinned in package.json and package-lock.json).
//
// Usage: node check_mcp.mjs [--timeout SECONDS] -- COMMAND [ARG...]   (stdio: starts the server)
//        node check_mcp.mjs [--timeout SECONDS] --url URL             (Streamable HTTP)
//
// Both take CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and ENABLED_SERVICES from the
// environment: over stdio the server gets them; over HTTP they become each request's
// `Authorization: Bearer`, `X-Cloudflare-Account-Id` and `X-Cloudflare-Enabled-Services` headers
// (the transport's requestInit). Prints `ok NAME` or `FAILED NAME: why` per check, then one line
// in cargo's format that `make test` counts, and exits 1 if any check failed.

import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..", "..");
const SDK_VERSION = JSON.parse(
  readFileSync(join(HERE, "node_modules", "@modelcontextprotocol", "sdk", "package.json"), "utf8"),
).version;

const EXPECTED_TOOLS = [
  "verify", "docs_search", "docs_read", "docs_products", "dns_list_zones", "dns_get_zone",
  "dns_records", "dns_report", "dns_timeseries", "graphql_query", "graphql_dataset_limits",
  "graphql_schema_search", "graphql_describe_type", "graphql_http_traffic", "graphql_top_http",
  "graphql_firewall_events",
];

// One call per tool (connect included), shared with the Python client and the Rust tests.
const TOOL_CALLS = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(join(HERE, "..", "mcp-client", "tool_calls.json"), "utf8"))).filter(
    ([name]) => !name.startsWith("_"),
  ),
);
const SERVICE_META = "cf-harness/service";
const SERVICE_BY_PREFIX = { docs_: "documentation", dns_: "dns-analytics", graphql_: "graphql-analytics" };
const DOCS_PAGE = "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/";

// Every check, in the order it runs; one that never ran counts as failed.
const CHECKS = [
  "initialize",
  "tools-list-names",
  "tool-read-only-hint",
  "input-schemas-valid",
  "call-verify",
  "call-docs-search",
  "call-dns-report",
  "bad-argument",
  "tool-titles-annotations-service",
  "output-schemas-valid",
  "call-every-tool-against-its-output-schema",
  "resource-template",
  "resource-read",
  "prompt-troubleshoot-connection",
];
// Over stdio only: over HTTP the notification goes to the session's GET stream.
const STDIO_CHECKS = ["list-changed-after-connect"];
const HTTP_CHECKS = ["http-no-token-is-401"];
const CREDENTIALS = ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "ENABLED_SERVICES"];

class CheckFailed extends Error {}

function expect(cond, why) {
  if (!cond) throw new CheckFailed(why);
}

function short(value, limit = 300) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? String(value) : text.length <= limit ? text : text.slice(0, limit) + "...";
}

function crateVersion() {
  // [workspace.package] version, or host-harness's own.
  for (const file of [join(REPO, "host-harness", "Cargo.toml"), join(REPO, "Cargo.toml")]) {
    try {
      const m = readFileSync(file, "utf8").match(/^version\s*=\s*"([^"]+)"/m);
      if (m) return m[1];
    } catch {
      // not there
    }
  }
  return null;
}

class Report {
  constructor(checks) {
    this.checks = checks;
    this.results = new Map();
  }
  record(name, ok, detail = "") {
    if (!this.checks.includes(name)) throw new Error(`unknown check ${name}`);
    if (this.results.has(name)) return;
    this.results.set(name, ok);
    console.log(ok ? `ok ${name}${detail ? ` (${detail})` : ""}` : `FAILED ${name}: ${detail}`);
  }
  finish(whyNotRun) {
    for (const name of this.checks) if (!this.results.has(name)) this.record(name, false, `not run: ${whyNotRun}`);
    const failed = [...this.results.values()].filter((ok) => !ok).length;
    const passed = this.results.size - failed;
    console.log(
      `test result: ${failed ? "FAILED" : "ok"}. ${passed} passed; ${failed} failed; 0 ignored; 0 measured; 0 filtered out`,
    );
    return failed ? 1 : 0;
  }
}

function describe(e) {
  if (e instanceof Error) {
    // Node's fetch says "fetch failed" and puts the reason (ECONNREFUSED, ...) in `cause`.
    const cause = e.cause ? ` (${e.cause.code ?? ""}${e.cause.code && e.cause.message ? ": " : ""}${e.cause.message ?? ""})` : "";
    return `${e.constructor.name}${e.code !== undefined ? ` ${e.code}` : ""}: ${e.message}${cause}`;
  }
  return short(e);
}

async function runCheck(report, name, body) {
  try {
    const detail = await body();
    report.record(name, true, detail ?? "");
    return true;
  } catch (e) {
    report.record(name, false, e instanceof CheckFailed ? e.message : describe(e));
    return false;
  }
}

const contentText = (result) => (result.content ?? []).map((c) => c.text ?? "").join(" ");

async function callOk(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  expect(
    !result.isError,
    `isError true for ${name} ${JSON.stringify(args)}: structuredContent=${short(result.structuredContent)} text=${short(contentText(result))}`,
  );
  const texts = (result.content ?? []).filter((c) => c.type === "text");
  expect(result.content?.length === 1 && texts.length === 1, `content is not exactly one text item: ${short(result.content)}`);
  let fromText;
  try {
    fromText = JSON.parse(texts[0].text);
  } catch (e) {
    throw new CheckFailed(`content text is not JSON (${e.message}): ${short(texts[0].text)}`);
  }
  const structured = result.structuredContent;
  expect(structured && typeof structured === "object", `no structuredContent; text was ${short(texts[0].text)}`);
  expect(
    JSON.stringify(sorted(fromText)) === JSON.stringify(sorted(structured)),
    `content text ${short(fromText)} differs from structuredContent ${short(structured)}`,
  );
  return structured;
}

function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  }
  return value;
}

async function runChecks(report, client, transport) {
  const tools = [];
  const ok = await runCheck(report, "initialize", async () => {
    // client.connect() did the handshake.
    const info = client.getServerVersion();
    expect(info?.name === "cf-harness", `serverInfo.name is ${short(info?.name)}, want "cf-harness"`);
    const want = crateVersion();
    if (want) expect(info.version === want, `serverInfo.version is ${short(info.version)}, want the crate version ${want}`);
    expect(client.getServerCapabilities()?.tools !== undefined, "capabilities has no `tools`");
    const protocol = transport.protocolVersion ? `, protocol ${transport.protocolVersion}` : "";
    return `${info.name} ${info.version}${protocol}`;
  });
  if (!ok) return "initialize failed";

  await runCheck(report, "tools-list-names", async () => {
    let cursor;
    for (let i = 0; i < 20; i++) {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      tools.push(...page.tools);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    const names = tools.map((t) => t.name);
    const dupes = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    const missing = EXPECTED_TOOLS.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !EXPECTED_TOOLS.includes(n));
    expect(!dupes.length && !missing.length && !extra.length, `missing ${short(missing)}, unexpected ${short(extra)}, duplicated ${short(dupes)}`);
    return `${names.length} tools`;
  });
  if (!tools.length) return "tools/list returned no tools";

  await runCheck(report, "tool-read-only-hint", async () => {
    const bad = tools.filter((t) => t.annotations?.readOnlyHint !== true).map((t) => t.name);
    expect(!bad.length, `readOnlyHint is not true: ${short(bad)}`);
  });

  await runCheck(report, "input-schemas-valid", async () => {
    // Each schema against the Draft 2020-12 meta-schema, then compiled by Ajv in strict mode
    // (unknown keywords, contradictory types; a union `type` such as ["string", "number"] is valid
    // JSON Schema and allowed), as a TypeScript client validating arguments would.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    const bad = [];
    for (const t of tools) {
      if (!ajv.validateSchema(t.inputSchema)) {
        bad.push(`${t.name}: ${ajv.errorsText(ajv.errors)}`);
        continue;
      }
      try {
        ajv.compile(t.inputSchema);
      } catch (e) {
        bad.push(`${t.name}: ${e.message}`);
      }
    }
    expect(!bad.length, bad.join("; "));
    return `${tools.length} schemas`;
  });

  await runCheck(report, "call-verify", async () => {
    const out = await callOk(client, "verify", {});
    expect(out.ready === true, `ready is ${short(out.ready)}; result ${short(out)}`);
  });

  await runCheck(report, "call-docs-search", async () => {
    const out = await callOk(client, "docs_search", { query: "create an API token" });
    const hits = out.hits;
    expect(Array.isArray(hits) && hits.length, `no hits: ${short(out)}`);
    const want = "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/";
    expect(hits[0]?.url === want, `hits[0].url is ${short(hits[0]?.url)}, want ${want}`);
    return `${hits.length} hits`;
  });

  await runCheck(report, "call-dns-report", async () => {
    const out = await callOk(client, "dns_report", { zone: "github.com", since: "24h" });
    expect(Array.isArray(out.rows) && out.rows.length, `rows is not a non-empty list: ${short(out)}`);
    return `${out.rows.length} rows`;
  });

  await runCheck(report, "bad-argument", async () => {
    const args = { query: "x", limit: 0 };
    const result = await client.callTool({ name: "docs_search", arguments: args });
    expect(result.isError === true, `sent docs_search ${JSON.stringify(args)}: isError is ${short(result.isError)}, text ${short(contentText(result))}`);
    const error = result.structuredContent?.error;
    expect(error && typeof error === "object", `structuredContent has no error object: ${short(result.structuredContent)}`);
    expect(error.kind === "invalid-input", `error.kind is ${short(error.kind)}: ${short(error)}`);
    expect(error.field === "limit", `error.field is ${short(error.field)}, want "limit": ${short(error)}`);
    return error.message;
  });

  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  await runCheck(report, "tool-titles-annotations-service", async () => {
    const bad = [];
    for (const t of tools) {
      const a = t.annotations ?? {};
      if (!t.title?.trim()) bad.push(`${t.name}: no title`);
      if (a.idempotentHint !== true || a.openWorldHint !== true || a.destructiveHint !== false) {
        bad.push(`${t.name}: annotations ${short(a)}`);
      }
      const want = Object.entries(SERVICE_BY_PREFIX).find(([prefix]) => t.name.startsWith(prefix))?.[1];
      const got = t._meta?.[SERVICE_META];
      if (got !== want) bad.push(`${t.name}: _meta[${SERVICE_META}] is ${short(got)}, want ${short(want)}`);
    }
    expect(!bad.length, bad.join("; "));
  });

  // Draft-07, as the schemas say ($schema), compiled by Ajv as the SDK's own validator does.
  const ajv7 = new Ajv({ strict: false, allErrors: true });
  const validators = {};
  await runCheck(report, "output-schemas-valid", async () => {
    const bad = [];
    for (const t of tools) {
      if (t.outputSchema?.type !== "object") {
        bad.push(`${t.name}: outputSchema is ${short(t.outputSchema, 80)}`);
        continue;
      }
      try {
        validators[t.name] = ajv7.compile(t.outputSchema);
      } catch (e) {
        bad.push(`${t.name}: ${e.message}`);
      }
    }
    expect(!bad.length, bad.join("; "));
    return `${Object.keys(validators).length} schemas`;
  });

  await runCheck(report, "call-every-tool-against-its-output-schema", async () => {
    // The SDK's callTool checks structuredContent against outputSchema itself (and throws on a
    // mismatch); the explicit check below does not rely on it.
    const called = [];
    for (const [name, args] of Object.entries(TOOL_CALLS)) {
      if (name === "connect") continue; // last, in its own check: it changes the catalog
      const out = await callOk(client, name, args);
      const validate = validators[name];
      expect(validate, `${name}: no compiled output schema`);
      expect(validate(out), `${name}: ${ajv7.errorsText(validate.errors)}`);
      called.push(name);
    }
    const missing = tools.map((t) => t.name).filter((n) => !called.includes(n));
    expect(!missing.length, `tool_calls.json has no call for ${short(missing)}`);
    // An error result: the SDK 1.x checks its structuredContent against the schema too.
    const result = await client.callTool({ name: "docs_search", arguments: { query: "x", limit: 0 } });
    const error = result.structuredContent?.error ?? {};
    expect("docs_url" in error, `error has no docs_url key: ${short(error)}`);
    expect(validators.docs_search(result.structuredContent), ajv7.errorsText(validators.docs_search.errors));
    return `${called.length} tools and an error`;
  });

  await runCheck(report, "resource-template", async () => {
    const uris = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(uris.includes("https://developers.cloudflare.com/{+path}"), `templates: ${short(uris)}`);
    return uris[0];
  });

  await runCheck(report, "resource-read", async () => {
    const [first] = (await client.readResource({ uri: DOCS_PAGE })).contents;
    expect(first?.mimeType === "text/markdown", `mimeType is ${short(first?.mimeType)}`);
    expect(first.text?.includes("API token"), `text: ${short(first.text)}`);
    return `${first.text.length} characters of Markdown`;
  });

  await runCheck(report, "prompt-troubleshoot-connection", async () => {
    const result = await client.getPrompt({ name: "troubleshoot-connection", arguments: { service: "dns-analytics" } });
    const text = result.messages.map((m) => m.content?.text ?? "").join(" ");
    for (const words of ["verify", "Zone -> Analytics -> Read"]) {
      expect(text.includes(words), `the prompt does not mention ${words}: ${short(text)}`);
    }
    return `${result.messages.length} messages`;
  });

  if (client.listChanged) {
    await runCheck(report, "list-changed-after-connect", async () => {
      await callOk(client, "connect", TOOL_CALLS.connect);
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailed("no notifications/tools/list_changed within 10 s")), 10_000);
      });
      await Promise.race([client.listChanged, late]).finally(() => clearTimeout(timer));
      return "notifications/tools/list_changed";
    });
  }
  return null;
}

function httpHeaders() {
  return {
    Authorization: `Bearer ${process.env.CLOUDFLARE_API_TOKEN}`,
    "X-Cloudflare-Account-Id": process.env.CLOUDFLARE_ACCOUNT_ID,
    "X-Cloudflare-Enabled-Services": process.env.ENABLED_SERVICES,
  };
}

async function noTokenIs401(url) {
  const { Authorization: _, ...headers } = httpHeaders();
  // What the server answers (its header), then what the SDK makes of it.
  const response = await fetch(url, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "check_mcp.mjs", version: "0" } },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  expect(response.status === 401, `answered HTTP ${response.status}, want 401: ${short(text)}`);
  const challenge = response.headers.get("www-authenticate");
  expect(challenge !== null, "401 without WWW-Authenticate");
  expect(/^bearer\b/i.test(challenge), `WWW-Authenticate is ${short(challenge)}, want a Bearer challenge`);

  const client = new Client({ name: "check_mcp.mjs", version: "0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  let refused;
  try {
    await client.connect(transport);
  } catch (e) {
    refused = e;
  } finally {
    await client.close().catch(() => {});
  }
  expect(refused !== undefined, "the SDK connected without a token");
  expect(refused.code === 401, `the SDK's connect failed with ${describe(refused)}, want its HTTP 401 error`);
  return `WWW-Authenticate: ${challenge}; the SDK's connect: ${describe(refused).slice(0, 120)}`;
}

async function main() {
  const argv = process.argv.slice(2);
  let timeout = 50;
  let url = null;
  let command = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--timeout") timeout = Number(argv[++i]);
    else if (argv[i] === "--url") url = argv[++i];
    else if (argv[i] === "--") {
      command = argv.slice(i + 1);
      break;
    } else {
      console.error(`check_mcp.mjs: unknown argument ${argv[i]}`);
      return 2;
    }
  }
  if (!url === !command.length) {
    console.error("check_mcp.mjs: give either --url URL or the server command after --");
    return 2;
  }
  const target = url ? `${url} over Streamable HTTP` : `${basename(command[0])} ${command.slice(1).join(" ")} over stdio`;
  console.log(`MCP client test: ${target} (TypeScript MCP SDK ${SDK_VERSION}, Node ${process.version})`);
  const report = new Report(url ? [...HTTP_CHECKS, ...CHECKS] : [...CHECKS, ...STDIO_CHECKS]);
  const missing = CREDENTIALS.filter((k) => !process.env[k]);
  if (missing.length) return report.finish(`${missing.join(", ")} not set`);

  let stderr = "";
  let transport;
  const client = new Client({ name: "check_mcp.mjs", version: "0" });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the session took longer than ${timeout} s`)), timeout * 1000);
  });
  let why = "the session ended early";
  try {
    if (url) {
      await runCheck(report, "http-no-token-is-401", () => noTokenIs401(url));
      transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: httpHeaders() } });
    } else {
      const env = Object.fromEntries([...CREDENTIALS, "PATH", "HOME"].filter((k) => k in process.env).map((k) => [k, process.env[k]]));
      // Resolved when the server says the tool list changed (after connect).
      client.listChanged = new Promise((resolve) => {
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
      });
      transport = new StdioClientTransport({ command: command[0], args: command.slice(1), env, cwd: process.cwd(), stderr: "pipe" });
      transport.stderr?.on("data", (chunk) => {
        stderr = (stderr + chunk).slice(-4000);
      });
    }
    const session = (async () => {
      await client.connect(transport, { timeout: Math.min(timeout, 20) * 1000 });
      return runChecks(report, client, transport);
    })();
    why = (await Promise.race([session, deadline])) ?? why;
  } catch (e) {
    why = `the session failed: ${describe(e)}`;
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => {});
  }
  const code = report.finish(why);
  if (code && stderr.trim()) {
    console.error("--- server stderr (last 4000 characters) ---");
    console.error(stderr);
    console.error("--- end of server stderr ---");
  }
  return code;
}

process.exitCode = await main();
