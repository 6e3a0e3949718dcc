/**
 * Streams whose clients go away mid-answer, over real sockets: there the client's request context ends with
 * the connection, and the answer's end (which frees its slot and books its tokens) runs after the RPC call
 * that began it has returned. A settlement started only then was dropped without an error, so every closed
 * browser tab kept a concurrency slot until its lease expired (15 minutes). In-runtime tests share one
 * context and cannot see this.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withDirective } from "../mock-upstream/directive.ts";
import { eventually } from "../support/eventually.ts";
import { startTenantStack, type TenantStack } from "../support/miniflare-tenant.ts";

/** The key's concurrency limit: every slot is taken by a stream that is then dropped. */
const LIMIT = 4;
const LONG = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");

let t: TenantStack;
let key: string;

beforeAll(async () => {
  t = await startTenantStack("dropped-streams", { CIO_PROVIDER: "openai", CIO_AUTO_MODEL: "mock-model" });
}, 120_000);

// A key per test, so a slot one test leaks fails that test only.
beforeEach(async () => {
  key = await t.newKey({ rpm_limit: 100_000, concurrency_limit: LIMIT });
});

afterAll(async () => {
  await t?.stop();
});

const api = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${t.stack.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body), signal });

const chat = (model: string, content: string, extra: object = {}, signal?: AbortSignal) =>
  api("/v1/chat/completions", { model, stream: true, messages: [{ role: "user", content }], ...extra }, signal);

/** The next answer of the key, retried while the slots of the dropped streams are being given back. */
async function nextAnswer(): Promise<{ status: number; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const res = await chat("mock-model", "after");
    await res.arrayBuffer();
    if (res.status !== 429 || Date.now() - started > 5000) return { status: res.status, afterMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Takes every slot of the key with streams of `model` (and `extra`), reads each one's first chunk, then drops them all. */
async function takeSlotsAndDrop(ids: string[], text: string, chunkDelayMs: number, model: string, extra: () => Promise<object>) {
  const drops = ids.map(() => new AbortController());
  const streams = await Promise.all(ids.map(async (id, i) => chat(model, withDirective(text, { id, text, chunkDelayMs }), await extra(), drops[i]!.signal)));
  expect(streams.map((r) => r.status)).toEqual(ids.map(() => 200));
  for (const s of streams) await s.body!.getReader().read(); // the answer is under way
  expect((await chat("mock-model", "one too many")).status).toBe(429);
  for (const d of drops) d.abort();
}

/** Tool calls D1 holds for the request, read from the stack's local D1 file. */
function toolCallsOf(requestId: string): number {
  const dir = join(t.stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!;
  const db = new DatabaseSync(join(dir, file), { readOnly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM tool_calls WHERE request_id = ?").get(requestId) as { n: number }).n;
  } finally {
    db.close();
  }
}

const upstreamOf = (ids: string[]) => () => t.mock.log.filter((e) => ids.includes(e.id ?? "")).map((e) => ({ aborted: e.aborted, completed: e.completed }));

describe("streams whose clients go away", () => {
  for (const model of ["mock-model", "cio/auto"]) {
    it(`give their slots back at once and cancel the upstream: ${model}`, async () => {
      const ids = Array.from({ length: LIMIT }, () => crypto.randomUUID());
      await takeSlotsAndDrop(ids, LONG, 50, model, async () => ({}));
      // Before the fix: still 429 when this gave up, 5 s later (the answers themselves would have run 15 s).
      expect(await nextAnswer()).toMatchObject({ status: 200 });
      const cancelled = ids.map(() => ({ aborted: true, completed: false }));
      expect(await eventually(upstreamOf(ids), (u) => u.every((e) => e.aborted), 5000)).toEqual(cancelled);
    }, 60_000);
  }

  it("a cio/auto answer dropped after its tools ran still records their outcomes, the learning loop's input", async () => {
    const requestId = `drop-tools-${crypto.randomUUID()}`;
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08];
    const script = [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "sma", period: 5, closes } }] }, { text: LONG }];
    const drop = new AbortController();
    const res = await fetch(`${t.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({ model: "cio/auto", stream: true, messages: [{ role: "user", content: withDirective("the SMA, then talk", { script, chunkDelayMs: 50 }) }] }),
      signal: drop.signal,
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes(": cio tool technical-analysis ok")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    drop.abort(); // the tool has run; the answer is still being written
    expect(await eventually(() => toolCallsOf(requestId), (n) => n > 0, 5000)).toBe(1);
  }, 60_000);

  it("a session's turn outlives its HTTP client: it is recorded in full, then its slot comes back", async () => {
    const ids = Array.from({ length: LIMIT }, () => crypto.randomUUID());
    const sessions: string[] = [];
    const session = async () => {
      sessions.push(((await (await api("/v1/sessions", {})).json()) as { id: string }).id);
      return { session_id: sessions.at(-1) };
    };
    const text = "one two three four five six seven eight nine ten";
    await takeSlotsAndDrop(ids, text, 100, "mock-model", session);
    expect(await nextAnswer()).toMatchObject({ status: 200 });
    // The first slot back is the first turn to end; the others end moments later (they started later).
    const finished = ids.map(() => ({ aborted: false, completed: true }));
    expect(await eventually(upstreamOf(ids), (u) => u.every((e) => e.completed || e.aborted), 5000)).toEqual(finished);
    const lastOf = async (id: string) => {
      const res = await fetch(`${t.stack.url}/v1/sessions/${id}/messages`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { data: { role: string; content: string }[] }).data.at(-1);
    };
    for (const id of sessions) expect(await eventually(() => lastOf(id), (m) => m?.role === "assistant", 5000)).toMatchObject({ role: "assistant", content: text });
  }, 60_000);
});
