/**
 * External tool services for tests and benchmarks, served by the mock upstream under
 * `/tools/<name>/execute`: the HTTPS transport of the tool contract (a service in any language). Requests
 * must carry a valid HMAC signature (x-cio-timestamp, x-cio-signature over `${timestamp}.${body}`).
 * Behaviour follows the call's arguments:
 *   {mode: "echo"}                       → ok, content "echo <name>: <args JSON>"
 *   {mode: "sleep", ms}                  → ok after ms
 *   {mode: "fail", code?, retryable?, retryAfterMs?} → a typed failure (with the wait hint tools put beside it)
 *   {mode: "http", status, retryAfter?}  → that HTTP status (with that Retry-After header)
 *   {mode: "switch", key}                → fails (retryable) while the switch `key` is down
 *   {mode: "barrier", key, n}            → answers only once n calls with this key are waiting (proves
 *                                          calls run in parallel without timing anything); fails after 3 s
 *   {mode: "big", n}                     → ok, content of n characters (no data), sent in chunks without a
 *                                          content-length, as a service streaming a large answer does
 *   {mode: "drop", key, n?}              → the call is taken, then the connection is cut without an answer
 *                                          (the first n calls with this key; all of them without n); then echo
 *   {mode: "spend", n, code?}            → ok, reporting n completion tokens spent on the model `code`
 *                                          (default "mock-paid-model"), as a tool that calls a paid model does
 * Every call is counted per `key` (GET /__tools/calls?key=…); POST /__tools/switch {key, down} flips a switch.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export const MOCK_TOOL_SECRET = "mock-tool-secret";

export interface ToolState {
  switches: Map<string, boolean>;
  calls: Map<string, number>;
  barriers: Map<string, (() => void)[]>;
}

export const newToolState = (): ToolState => ({ switches: new Map(), calls: new Map(), barriers: new Map() });

function barrier(st: ToolState, key: string, n: number): Promise<boolean> {
  const waiting = st.barriers.get(key) ?? [];
  st.barriers.set(key, waiting);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 3000);
    waiting.push(() => (clearTimeout(timer), resolve(true)));
    if (waiting.length >= n) for (const release of waiting.splice(0)) release();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tool's own signing secret, as toolSigningSecret in lib/tools/signature.ts derives it. */
export const toolSecret = (master: string, name: string) => createHmac("sha256", master).update(`cio-tool:${name}`).digest("hex");

export function signatureValid(secret: string, headers: IncomingMessage["headers"], body: string): boolean {
  const ts = String(headers["x-cio-timestamp"] ?? "");
  const sig = String(headers["x-cio-signature"] ?? "");
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const want = createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex");
  return sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
}

/** Handles /tools/* and /__tools/*; returns false for other paths. */
export async function handleTools(req: IncomingMessage, res: ServerResponse, url: URL, body: () => Promise<string>, st: ToolState, secret = MOCK_TOOL_SECRET): Promise<boolean> {
  if (req.method === "GET" && url.pathname === "/__tools/calls") {
    send(res, 200, { calls: st.calls.get(url.searchParams.get("key") ?? "") ?? 0 });
    return true;
  }
  if (req.method === "POST" && url.pathname === "/__tools/switch") {
    const { key, down } = JSON.parse(await body()) as { key: string; down: boolean };
    st.switches.set(key, down);
    send(res, 200, { key, down });
    return true;
  }
  const m = /^\/tools\/([a-z0-9_-]+)\/execute$/.exec(url.pathname);
  if (!m || req.method !== "POST") return false;
  const raw = await body();
  // Each tool verifies with its own secret, derived from the orchestrator's (lib/tools/signature.ts).
  if (!signatureValid(toolSecret(secret, m[1]!), req.headers, raw)) {
    send(res, 401, { error: "invalid signature" });
    return true;
  }
  const input = JSON.parse(raw) as { args: Record<string, unknown> };
  const a = input.args;
  const key = String(a.key ?? m[1]);
  st.calls.set(key, (st.calls.get(key) ?? 0) + 1);
  switch (a.mode) {
    case "sleep":
      await sleep(Number(a.ms ?? 0));
      return ok(res, `slept ${a.ms} ms`), true;
    case "fail":
      send(res, 200, { ok: false, error: { code: String(a.code ?? "mock_failure"), message: "scripted failure", retryable: a.retryable === true, ...(a.retryAfterMs !== undefined && { retryAfterMs: Number(a.retryAfterMs) }) } });
      return true;
    case "http":
      send(res, Number(a.status ?? 500), { error: "scripted HTTP failure" }, a.retryAfter === undefined ? {} : { "retry-after": String(a.retryAfter) });
      return true;
    case "switch":
      if (st.switches.get(key)) send(res, 200, { ok: false, error: { code: "unavailable", message: `${key} is down`, retryable: true } });
      else ok(res, `${key} is up`);
      return true;
    case "big":
      return bigAnswer(res, Number(a.n ?? 0)), true;
    case "drop":
      if (a.n === undefined || (st.calls.get(key) ?? 0) <= Number(a.n)) return req.socket.destroy(), true;
      return ok(res, `${key} answered`), true;
    case "spend":
      send(res, 200, { ok: true, content: `spent ${a.n} tokens`, usage: { model: String(a.code ?? "mock-paid-model"), prompt_tokens: 0, completion_tokens: a.n } });
      return true;
    case "barrier":
      if (await barrier(st, key, Number(a.n ?? 2))) ok(res, `${key} met ${a.n ?? 2} parallel calls`);
      else send(res, 200, { ok: false, error: { code: "alone", message: "the other calls never came", retryable: false } });
      return true;
    default:
      return ok(res, `echo ${m[1]}: ${JSON.stringify(a)}`), true;
  }
}

function bigAnswer(res: ServerResponse, n: number) {
  res.writeHead(200, { "content-type": "application/json" });
  res.write('{"ok":true,"content":"');
  for (let left = n; left > 0; left -= 65_536) res.write("x".repeat(Math.min(left, 65_536)));
  res.end('"}');
}

function ok(res: ServerResponse, content: string) {
  send(res, 200, { ok: true, content, data: { content } });
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  const payload = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
