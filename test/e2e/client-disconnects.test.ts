/**
 * Clients that go away mid-request, under load, over real sockets: each request is its own request context
 * in the runtime only here (in-runtime tests share the test's one context). A load generator that stops
 * drops every request it has in flight; once, that left a tenant's reservations waiting forever on a call
 * made by a request that no longer existed, and other requests' I/O ran in the wrong context (500s).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiniflareStack, type MiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { startMockUpstream, type MockUpstream } from "../mock-upstream/server.ts";
import { freePort } from "../support/stack.ts";

const IN_FLIGHT = 50;
const ROUNDS = 10;
const ROUND_MS = 3000;
const CONCURRENCY_LIMIT = 30;

let mock: MockUpstream;
let stack: MiniflareStack;
let key: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  stack = await startMiniflareStack({
    port: await freePort(),
    stateDir: mkdtempSync(join(tmpdir(), "cio-disconnects-")),
    // cio/auto answers through builtin (its tool registry is kept per isolate, another thing requests share).
    vars: { CIO_UPSTREAM_BASE_URL: mock.url, CIO_UPSTREAM_MODELS: "mock-model", CIO_PROVIDER: "builtin", CIO_LOG_LEVEL: "error" },
  });
  const h = { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) => (await (await fetch(`${stack.url}${path}`, { method: "POST", headers: h, body: JSON.stringify(body) })).json()) as { id: string; key: string };
  const tenant = await post("/admin/tenants", { name: "disconnects", rpm_limit: 1_000_000, concurrency_limit: 1000 });
  // A concurrency limit below the load: a slot that a dropped request never gave back shows as a 429 later.
  key = (await post(`/admin/tenants/${tenant.id}/keys`, { name: "disconnects", rpm_limit: 1_000_000, concurrency_limit: CONCURRENCY_LIMIT })).key;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

let sent = 0;
/** Passthrough and cio/auto in turn. */
const chat = (signal: AbortSignal) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: sent++ % 2 ? "cio/auto" : "mock-model", messages: [{ role: "user", content: "hi" }] }),
    signal,
  });

/** Keeps IN_FLIGHT requests going for ROUND_MS, then drops every one still in flight at once. */
async function roundThenDrop(statuses: number[]): Promise<void> {
  const stop = new AbortController();
  const until = Date.now() + ROUND_MS;
  const worker = async () => {
    while (Date.now() < until) {
      try {
        const res = await chat(stop.signal);
        await res.arrayBuffer();
        statuses.push(res.status);
      } catch {
        return; // dropped by us
      }
    }
  };
  const workers = Array.from({ length: IN_FLIGHT }, worker);
  setTimeout(() => stop.abort(), ROUND_MS);
  await Promise.all(workers);
}

describe("clients that disconnect mid-request", () => {
  it("never wedge the tenant, fail other requests, or keep their slots", async () => {
    const statuses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await roundThenDrop(statuses);
      // The next request of the tenant answers at once: nothing waits on a call of a request that is gone,
      // and every dropped request's slot came back (the key's limit is below the load).
      let probe: Response | undefined;
      for (let attempt = 0; attempt < 20; attempt++) {
        probe = await chat(AbortSignal.timeout(5000));
        if (probe.status !== 429) break;
        await new Promise((r) => setTimeout(r, 100)); // slots of answers still settling
      }
      expect({ round, status: probe!.status }).toEqual({ round, status: 200 });
      await probe!.arrayBuffer();
    }
    const answered = statuses.filter((s) => s === 200).length;
    expect(answered).toBeGreaterThan(ROUNDS * 10);
    // Only answers and 429s (the key's concurrency limit is below the load); a 5xx is a request that failed
    // because another one went away.
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
  }, 120_000);
});
