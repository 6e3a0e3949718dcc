/**
 * Clients that go away mid-request, under load, over real sockets: each request is its own request context
 * in the runtime only here (in-runtime tests share the test's one context). A load generator that stops
 * drops every request it has in flight; once, that left a tenant's reservations waiting forever on a call
 * made by a request that no longer existed, and other requests' I/O ran in the wrong context (500s).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTenantStack, type TenantStack } from "../support/miniflare-tenant.ts";

const IN_FLIGHT = 50;
const ROUNDS = 10;
const ROUND_MS = 3000;
const CONCURRENCY_LIMIT = 30;

let t: TenantStack;
let key: string;

beforeAll(async () => {
  // cio/auto answers through builtin (its tool registry is kept per isolate, another thing requests share).
  t = await startTenantStack("disconnects", { CIO_PROVIDER: "builtin" });
  // A concurrency limit below the load: a slot that a dropped request never gave back shows as a 429 later.
  key = await t.newKey({ rpm_limit: 1_000_000, concurrency_limit: CONCURRENCY_LIMIT });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

let sent = 0;
/** Passthrough and cio/auto in turn. */
const chat = (signal: AbortSignal) =>
  fetch(`${t.stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: sent++ % 2 ? "cio/auto" : "mock-model", messages: [{ role: "user", content: "hi" }] }),
    signal,
  });

/** Keeps IN_FLIGHT requests going for ROUND_MS, then drops every one still in flight at once. */
async function roundThenDrop(statuses: number[]): Promise<void> {
  // One controller per request, not one signal for all: Node's fetch leaves its abort listener on the signal
  // after the request ends, and a shared signal collected thousands (MaxListenersExceededWarning per fetch).
  const inFlight = new Set<AbortController>();
  const until = Date.now() + ROUND_MS;
  const worker = async () => {
    while (Date.now() < until) {
      const request = new AbortController();
      inFlight.add(request);
      try {
        const res = await chat(request.signal);
        await res.arrayBuffer();
        statuses.push(res.status);
      } catch {
        return; // dropped by us
      } finally {
        inFlight.delete(request);
      }
    }
  };
  const workers = Array.from({ length: IN_FLIGHT }, worker);
  setTimeout(() => inFlight.forEach((request) => request.abort()), ROUND_MS);
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

/** Sends a chat request's headers and half its body over a raw socket, waits, then drops the connection. */
async function dropMidBody(key: string): Promise<void> {
  const body = JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }] });
  const url = new URL(t.stack.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((res, rej) => socket.once("connect", res).once("error", rej));
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${key}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  await new Promise((r) => setTimeout(r, 300)); // the gateway has the headers and waits for the rest
  socket.destroy();
}

describe("clients that go away in the middle of sending a body", () => {
  it("take no concurrency slot with them", async () => {
    const limited = await t.newKey({ rpm_limit: 1_000_000, concurrency_limit: 2 });
    for (let i = 0; i < 4; i++) await dropMidBody(limited);
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${t.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${limited}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
