/**
 * A scripted OpenAI-compatible upstream on 127.0.0.1: the edge of the system that tests and benchmarks
 * replace (a real model provider). Answers /v1/chat/completions in JSON or SSE as OpenAI does, following
 * the directive in the request (see directive.ts), and logs requests so tests can assert what was sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseDirective, resolveCase, type Directive, type ScriptCall, type ScriptStep } from "./directive.ts";
import { handleTools, newToolState, type ToolState } from "./tools.ts";

export interface LoggedRequest {
  id?: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  aborted: boolean;
  completed: boolean;
}

export interface MockUpstream {
  url: string;
  port: number;
  server: Server;
  log: LoggedRequest[];
  close(): Promise<void>;
}

export interface MockOptions {
  port?: number;
  /** Fixed latency before answering, for benchmarks. */
  latencyMs?: number;
  /** Keep no request log (benchmarks would otherwise grow it without bound). */
  quiet?: boolean;
  /** Fixed latency of the HTTPS tools under /tools, for benchmarks. */
  toolLatencyMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Time the mock itself spent on requests, from arrival to the last byte, per kind: the fixed latencies as
 * they really came out (a timer fires late, JSON takes time), so a benchmark can subtract what was spent
 * here rather than the nominal figures. GET /__timing returns it.
 */
export interface MockTiming {
  model: { requests: number; ms: number };
  tool: { requests: number; ms: number };
}

export async function startMockUpstream(opts: MockOptions = {}): Promise<MockUpstream> {
  const log: LoggedRequest[] = [];
  const attempts = new Map<string, number>();
  const tools = newToolState();
  const timing: MockTiming = { model: { requests: 0, ms: 0 }, tool: { requests: 0, ms: 0 } };
  const server = createServer((req, res) => {
    const arrived = performance.now();
    const kind = req.url === "/v1/chat/completions" ? timing.model : req.url?.startsWith("/tools/") ? timing.tool : undefined;
    if (kind) res.on("finish", () => ((kind.requests += 1), (kind.ms += performance.now() - arrived)));
    if (req.url === "/__timing") return json(res, 200, timing);
    handle(req, res, { log, attempts, opts, tools }).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(err), type: "server_error" } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    server,
    log,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

interface State {
  log: LoggedRequest[];
  attempts: Map<string, number>;
  opts: MockOptions;
  tools: ToolState;
}

async function handle(req: IncomingMessage, res: ServerResponse, st: State) {
  const url = new URL(req.url ?? "/", "http://x");
  if (req.method === "GET" && url.pathname === "/v1/models") {
    return json(res, 200, { object: "list", data: [{ id: "mock-model", object: "model", created: 0, owned_by: "mock" }] });
  }
  if (req.method === "GET" && url.pathname === "/__requests") {
    const id = url.searchParams.get("id");
    return json(res, 200, id ? st.log.filter((r) => r.id === id) : st.log);
  }
  if (url.pathname.startsWith("/tools/") || url.pathname.startsWith("/__tools/")) {
    if (st.opts.toolLatencyMs && url.pathname.startsWith("/tools/")) await sleep(st.opts.toolLatencyMs);
    if (await handleTools(req, res, url, () => readBody(req), st.tools)) return;
  }
  if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") return json(res, 404, { error: { message: "not found" } });
  const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
  const { text: userText, directive: scripted } = parseDirective(lastUser(body));
  const d = resolveCase(scripted, promptOf(body, userText));
  const entry: LoggedRequest = { id: d.id, body, headers: req.headers, aborted: false, completed: false };
  if (!st.opts.quiet) st.log.push(entry);
  res.on("close", () => { if (!entry.completed) entry.aborted = true; });
  const attempt = d.id ? (st.attempts.get(d.id) ?? 0) + 1 : 1;
  if (d.id) st.attempts.set(d.id, attempt);
  if (st.opts.latencyMs) await sleep(st.opts.latencyMs);
  if (d.delayMs) await sleep(d.delayMs);
  const failing = d.failTimes ? attempt <= d.failTimes : d.status !== undefined;
  if (failing) return failWith(res, d.status ?? 503, d, entry);
  if (d.rawBody !== undefined) {
    entry.completed = true;
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(d.rawBody);
  }
  const model = String(body.model ?? "mock-model");
  const step = d.script ? scriptStep(d.script, body) : undefined;
  if (step?.tool_calls) return toolCalls(res, model, step.tool_calls, body.stream === true, entry, step.finishReason, d.noUsage);
  const answer = step ? (step.echoTools ? toolEcho(body) : (step.text ?? "")) : (d.text ?? `Echo: ${userText}`);
  const counted = { prompt_tokens: Math.ceil(userText.length / 4) || 1, completion_tokens: words(answer).length, total_tokens: 0 };
  counted.total_tokens = counted.prompt_tokens + counted.completion_tokens;
  const usage = d.usage ?? counted;
  const finish = step?.finishReason ?? d.finishReason ?? "stop";
  // `n` choices, as OpenAI answers it: choice i says the answer with " #i" after it from the second on.
  const n = typeof body.n === "number" ? body.n : 1;
  if (body.stream === true) return stream(res, model, answer, usage, { ...d, finishReason: finish }, body, entry, n);
  entry.completed = true;
  return json(res, 200, {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { role: "assistant", content: choiceText(answer, i) }, finish_reason: finish })),
    ...(d.noUsage ? {} : { usage }),
  });
}

const choiceText = (answer: string, i: number) => (i ? `${answer} #${i}` : answer);

async function stream(res: ServerResponse, model: string, answer: string, usage: object, d: Directive, body: Record<string, unknown>, entry: LoggedRequest, n = 1) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  // One `created` (long past, so a chunk stamped anew stands out) and a fingerprint, as OpenAI sends them.
  const base = { id: "chatcmpl-mock-stream", object: "chat.completion.chunk", created: 1_700_000_000, model, system_fingerprint: "fp_mock" };
  const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  const parts = words(answer);
  for (let i = 0; i < parts.length; i++) {
    if (res.destroyed) return;
    if (d.breakAfter !== undefined && i === d.breakAfter) return void res.destroy();
    if (d.endAfter !== undefined && i === d.endAfter) return void res.end();
    if (d.errorAfter !== undefined && i === d.errorAfter) {
      send({ error: { message: "mock failure mid-stream", type: "server_error", code: "mock_failure" } });
      return void res.end();
    }
    if (d.comments) res.write(": keep-alive\n\n");
    const last = i === parts.length - 1;
    const withUsage = last && d.usageOnLastChunk && !d.noUsage;
    // Like many OpenAI-compatible servers, the mock omits `role` from deltas: the gateway must add it.
    send({ ...base, choices: [{ index: 0, delta: { content: parts[i] }, finish_reason: last ? (d.finishReason ?? "stop") : null }], ...(withUsage ? { usage } : {}) });
    // The other choices' pieces, each in its own chunk, as OpenAI interleaves them.
    for (let c = 1; c < n; c++) send({ ...base, choices: [{ index: c, delta: { content: last ? `${parts[i]} #${c}` : parts[i] }, finish_reason: last ? (d.finishReason ?? "stop") : null }] });
    if (d.chunkDelayMs) await sleep(d.chunkDelayMs);
  }
  const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  if (wantsUsage && !d.noUsage && !d.usageOnLastChunk) send({ ...base, choices: [], usage });
  res.write("data: [DONE]\n\n");
  entry.completed = true;
  res.end();
}

type Msg = { role: string; content?: unknown; tool_calls?: unknown[] };

/** Messages after the last user message: the rounds of the agent loop in progress. */
function sinceLastUser(body: Record<string, unknown>): Msg[] {
  const messages = (body.messages as Msg[] | undefined) ?? [];
  let i = messages.length - 1;
  while (i >= 0 && messages[i]!.role !== "user") i--;
  return messages.slice(i + 1);
}

function scriptStep(script: ScriptStep[], body: Record<string, unknown>): ScriptStep {
  const round = sinceLastUser(body).filter((m) => m.role === "assistant" && m.tool_calls?.length).length;
  return script[Math.min(round, script.length - 1)] ?? {};
}

const toolEcho = (body: Record<string, unknown>) =>
  sinceLastUser(body)
    .filter((m) => m.role === "tool")
    .map((m) => String(m.content))
    .join(" | ");

/** Tool calls as OpenAI sends them: in a stream, name and id first, the arguments in two pieces. */
type WireCall = { id: string; type: "function"; function: { name: string; arguments: string } } | { id: string; type: "custom"; custom: { name: string; input: string } };

function toolCalls(res: ServerResponse, model: string, calls: ScriptCall[], stream: boolean, entry: LoggedRequest, finish = "tool_calls", noUsage = false) {
  const wire = calls.map((c, i): WireCall => {
    const id = c.id ?? `call_mock_${i}_${Math.random().toString(36).slice(2, 8)}`;
    const args = typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments);
    return c.custom ? { id, type: "custom", custom: { name: c.name, input: args } } : { id, type: "function", function: { name: c.name, arguments: args } };
  });
  const usage = { prompt_tokens: 10, completion_tokens: 5 * calls.length, total_tokens: 10 + 5 * calls.length };
  entry.completed = true;
  if (!stream) {
    return json(res, 200, { id: "chatcmpl-mock", object: "chat.completion", created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: wire }, finish_reason: finish }], ...(noUsage ? {} : { usage }) });
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const base = { id: "chatcmpl-mock-stream", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
  const send = (delta: unknown, finish: string | null = null) => res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  send({ role: "assistant", content: null });
  wire.forEach((c, index) => {
    // A custom call streams its input in pieces as a function call does its arguments.
    const custom = c.type === "custom";
    const [name, args] = custom ? [c.custom.name, c.custom.input] : [c.function.name, c.function.arguments];
    const part = (text: string, named?: string) => {
      const head = named === undefined ? {} : { name: named };
      return custom ? { custom: { ...head, input: text } } : { function: { ...head, arguments: text } };
    };
    const half = Math.floor(args.length / 2);
    send({ tool_calls: [{ index, id: c.id, type: c.type, ...part(args.slice(0, half), name) }] });
    send({ tool_calls: [{ index, ...part(args.slice(half)) }] });
  });
  send({}, finish);
  if (!noUsage) res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  res.end("data: [DONE]\n\n");
}

function failWith(res: ServerResponse, status: number, d: Directive, entry: LoggedRequest) {
  entry.completed = true;
  const headers = { ...(d.retryAfter ? { "retry-after": d.retryAfter } : {}), ...d.errorHeaders };
  if (d.errorBody !== undefined) {
    res.writeHead(status, { "content-type": d.errorBody.startsWith("<") ? "text/html" : "application/json", ...headers });
    return void res.end(d.errorBody);
  }
  json(res, status, { error: { message: d.errorMessage ?? `mock failure ${status}`, type: "server_error", param: null, code: d.errorCode ?? null } }, headers);
}

const words = (s: string) => s.match(/\S+\s*/g) ?? [""];

function lastUser(body: Record<string, unknown>): string {
  const messages = (body.messages as { role: string; content: unknown }[] | undefined) ?? [];
  const m = [...messages].reverse().find((x) => x.role === "user");
  return typeof m?.content === "string" ? m.content : "";
}

/** Every message's text, with the last user message as the directive left it. */
function promptOf(body: Record<string, unknown>, userText: string): string {
  const messages = (body.messages as { role: string; content: unknown }[] | undefined) ?? [];
  const lastUserAt = messages.map((m) => m.role).lastIndexOf("user");
  return messages.map((m, i) => (i === lastUserAt ? userText : typeof m.content === "string" ? m.content : "")).join("\n");
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  const payload = JSON.stringify(value);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

// `node test/mock-upstream/server.ts --port 9999 --latency 20` runs it on its own (npm start, benchmarks).
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : undefined; };
  const m = await startMockUpstream({ port: arg("port"), latencyMs: arg("latency"), toolLatencyMs: arg("tool-latency"), quiet: process.argv.includes("--quiet") });
  console.log(JSON.stringify({ msg: "mock upstream listening", url: m.url }));
}
