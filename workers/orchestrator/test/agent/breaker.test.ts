import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { scopedName, stubFor } from "../../../../lib/do-names.js";
import type { ToolBreakerDO } from "../../../../durable-objects/tool-breaker/index.js";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, setSwitch, toolCalls, uniq } from "./helpers.js";

// The cool-down must outlast one chat round trip on a loaded 2-core CI machine, or the "open" check races it.
const COOLDOWN_MS = 2000;
const BREAKER = { ...OPENAI, CIO_BREAKER_THRESHOLD: "2", CIO_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS), CIO_TOOL_RETRIES: "0" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The shared breaker object of `tool` for `tenantId`, named as the dispatcher names it. */
const breakerOf = (tenantId: string, tool = "x") =>
  stubFor((env as unknown as { TOOL_BREAKERS: DurableObjectNamespace<ToolBreakerDO> }).TOOL_BREAKERS, scopedName(tenantId, "tool-breaker", tool));

/** A tool whose breaker two failures opened, once its cool-down has passed: the next call is the probe. */
async function halfOpen() {
  const tenantId = await newTenant();
  const name = uniq("brk");
  const key = uniq("sw");
  await mockTool(tenantId, name);
  await setSwitch(key, true);
  const ask = async (args: Record<string, unknown>) => completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: args }] }, { echoTools: true }])], { tenantId, settings: BREAKER })).cio.tools[0]!;
  await ask({ mode: "switch", key });
  await ask({ mode: "switch", key });
  expect(await ask({ mode: "echo" })).toMatchObject({ ok: false, error: { code: "circuit_open" } });
  await sleep(COOLDOWN_MS + 100);
  return { tenantId, name, ask };
}

/** A streamed answer waiting on a slow call of `name`, which the client reads (so the call goes on) and then leaves mid-call. */
async function slowCallLeftMidway(tenantId: string, name: string) {
  const reply = await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "sleep", ms: 1500 } }] }, { echoTools: true }])], { tenantId, settings: BREAKER, body: { stream: true } });
  if (reply.kind !== "stream") throw new Error(JSON.stringify(reply));
  const reader = reply.body.getReader();
  const reading = (async () => {
    while (!(await reader.read()).done);
  })().catch(() => undefined);
  await sleep(400);
  await reader.cancel("client gone");
  await reading;
  await sleep(200);
}

describe("circuit breaker per tool", () => {
  it("opens after N consecutive failures, refuses calls while open, and recovers through a half-open probe", async () => {
    const tenantId = await newTenant();
    const name = uniq("brk");
    const key = uniq("sw");
    await mockTool(tenantId, name);
    await setSwitch(key, true);
    const ask = async () => completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "switch", key } }] }, { echoTools: true }])], { tenantId, settings: BREAKER })).cio.tools[0]!;

    expect(await ask()).toMatchObject({ ok: false, error: { code: "unavailable" } });
    expect(await ask()).toMatchObject({ ok: false, error: { code: "unavailable" } });
    expect(await toolCalls(key)).toBe(2);
    // Open: the tool is not called at all.
    expect(await ask()).toMatchObject({ ok: false, error: { code: "circuit_open" } });
    expect(await toolCalls(key)).toBe(2);

    // After the cool-down one probe goes through; it fails, so the breaker opens again.
    await sleep(COOLDOWN_MS + 100);
    expect(await ask()).toMatchObject({ ok: false, error: { code: "unavailable" } });
    expect(await toolCalls(key)).toBe(3);
    expect(await ask()).toMatchObject({ ok: false, error: { code: "circuit_open" } });

    // The tool recovers; the next probe succeeds and closes the breaker for good.
    await setSwitch(key, false);
    await sleep(COOLDOWN_MS + 100);
    expect(await ask()).toMatchObject({ ok: true });
    expect(await ask()).toMatchObject({ ok: true });
    expect(await toolCalls(key)).toBe(5);
  });

  it("the caller's mistakes do not open it: five unknown_symbol answers in a row, then a valid call runs", async () => {
    const tenantId = await newTenant();
    const name = uniq("brk");
    await mockTool(tenantId, name);
    // The default threshold (5), so five failures that counted would open it.
    const settings = { ...OPENAI, CIO_TOOL_RETRIES: "0" };
    const ask = async (args: Record<string, unknown>) => completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: args }] }, { echoTools: true }])], { tenantId, settings })).cio.tools[0]!;
    for (let i = 0; i < 5; i++) expect(await ask({ mode: "fail", code: "unknown_symbol" })).toMatchObject({ ok: false, error: { code: "unknown_symbol" } });
    expect(await ask({ mode: "echo" })).toMatchObject({ ok: true });
  });

  it("a dropped call counts against the tool even when it is not retried (a non-idempotent tool)", async () => {
    const tenantId = await newTenant();
    const name = uniq("brk");
    const key = uniq("k");
    await mockTool(tenantId, name);
    const ask = async () => completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "drop", key } }] }, { echoTools: true }])], { tenantId, settings: BREAKER })).cio.tools[0]!;
    expect(await ask()).toMatchObject({ ok: false, error: { code: "tool_unreachable", message: expect.stringContaining("not retried") } });
    expect(await ask()).toMatchObject({ ok: false, error: { code: "tool_unreachable" } });
    expect(await ask()).toMatchObject({ ok: false, error: { code: "circuit_open" } });
    expect(await toolCalls(key)).toBe(2);
  });

  it("a half-open probe the tool answers with the caller's mistake closes the breaker: the tool is back", async () => {
    const { tenantId, name, ask } = await halfOpen();
    expect(await ask({ mode: "fail", code: "unknown_symbol" })).toMatchObject({ ok: false, error: { code: "unknown_symbol" } });
    // Left unreported, the probe would hold the breaker half-open (refusing calls) for another cool-down.
    expect(await ask({ mode: "echo" })).toMatchObject({ ok: true });
  });

  it("a breaker another isolate opened reaches this one with its next refresh, which does not hold the call up", async () => {
    const tenantId = await newTenant();
    const name = uniq("brk");
    await mockTool(tenantId, name);
    // Sync 0: every call finds this isolate's closed view stale and refreshes it beside the call.
    const settings = { ...BREAKER, CIO_BREAKER_SYNC_MS: "0" };
    const ask = async () => completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "echo" } }] }, { echoTools: true }])], { tenantId, settings })).cio.tools[0]!;
    expect(await ask()).toMatchObject({ ok: true });

    // Another isolate sees the tool fail twice: the shared object opens.
    const stub = breakerOf(tenantId, name);
    const cfg = { threshold: 2, cooldownMs: COOLDOWN_MS };
    await stub.record(false, cfg);
    await stub.record(false, cfg);

    // The call made on the stale closed view goes out (the trade-off); its refresh brings the open state.
    expect(await ask()).toMatchObject({ ok: true });
    expect(await ask()).toMatchObject({ ok: false, error: { code: "circuit_open" } });
    expect((await stub.snapshot()).status).toBe("open");
  });

  it("the breaker's state is shared: it lives in one Durable Object per tenant and tool", async () => {
    const stub = breakerOf("t-shared");
    const cfg = { threshold: 1, cooldownMs: 60_000 };
    await stub.record(false, cfg);
    expect((await stub.snapshot()).status).toBe("open");
    expect((await stub.acquire(cfg)).allowed).toBe(false);
    // Another tenant's breaker for the same tool is a different object, untouched.
    const other = breakerOf("t-other");
    expect((await other.acquire(cfg)).allowed).toBe(true);
  });

  it("only the half-open probe closes an open breaker: a late success from a call let out before it opened does not", async () => {
    const stub = breakerOf(uniq("t-late"));
    const cfg = { threshold: 1, cooldownMs: 50 };
    await stub.record(false, cfg);
    expect((await stub.record(true, cfg)).status).toBe("open");
    await sleep(60);
    const probe = await stub.acquire(cfg);
    expect(probe).toMatchObject({ allowed: true, probe: expect.any(String) });
    expect((await stub.record(true, cfg, probe.probe)).status).toBe("closed");
  });

  it("while half-open only the probe decides: a slow call's late failure or success changes nothing", async () => {
    const stub = breakerOf(uniq("t-stale"));
    const cfg = { threshold: 1, cooldownMs: 50 };
    await stub.record(false, cfg);
    await sleep(60);
    const { probe } = await stub.acquire(cfg);
    expect(probe).toEqual(expect.any(String));
    const halfOpen = await stub.snapshot();
    // Calls let out before the breaker opened report now, without the probe's token (or with a wrong one).
    expect((await stub.record(false, cfg)).status).toBe("half-open");
    expect((await stub.record(true, cfg)).status).toBe("half-open");
    expect((await stub.record(true, cfg, "not-the-probe")).status).toBe("half-open");
    expect((await stub.snapshot()).openedAt).toBe(halfOpen.openedAt);
    // The probe's own success closes it.
    expect((await stub.record(true, cfg, probe)).status).toBe("closed");
    expect((await stub.acquire(cfg)).allowed).toBe(true);
  });

  it("a failed probe opens the breaker again, and a new probe gets a new token", async () => {
    const stub = breakerOf(uniq("t-reprobe"));
    const cfg = { threshold: 1, cooldownMs: 50 };
    await stub.record(false, cfg);
    await sleep(60);
    const first = (await stub.acquire(cfg)).probe;
    expect((await stub.record(false, cfg, first)).status).toBe("open");
    await sleep(60);
    const second = (await stub.acquire(cfg)).probe;
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    // The first probe's token is spent: reported again, it decides nothing.
    expect((await stub.record(true, cfg, first)).status).toBe("half-open");
    expect((await stub.record(true, cfg, second)).status).toBe("closed");
  });

  it("a half-open breaker lets exactly one probe through, however many calls arrive at once", async () => {
    const stub = breakerOf("t-probe");
    const cfg = { threshold: 1, cooldownMs: 50 };
    await stub.record(false, cfg);
    await sleep(60);
    const admissions = await Promise.all(Array.from({ length: 5 }, () => stub.acquire(cfg)));
    expect(admissions.filter((a) => a.allowed && a.probe)).toHaveLength(1);
    expect(admissions.filter((a) => a.allowed)).toHaveLength(1);
  });

  it("while half-open, a refused call is told when the probe out now expires, not a time already past", async () => {
    const stub = breakerOf(uniq("t-retry-at"));
    const cfg = { threshold: 1, cooldownMs: 200 };
    await stub.record(false, cfg);
    await sleep(210);
    const probe = await stub.acquire(cfg);
    expect(probe.probe).toEqual(expect.any(String));
    const refused = await stub.acquire(cfg);
    expect(refused).toMatchObject({ allowed: false, status: "half-open" });
    const { probeAt } = await stub.snapshot();
    expect(refused.retryAt).toBe(probeAt + cfg.cooldownMs);
    expect(refused.retryAt).toBeGreaterThan(Date.now());
  });

  it("a released probe token lets the next call probe at once; a stale token releases nothing", async () => {
    const stub = breakerOf(uniq("t-release"));
    const cfg = { threshold: 1, cooldownMs: 60_000 };
    await stub.record(false, cfg);
    // Acquired as if the cool-down had passed, so the probe goes out now without the test waiting a minute.
    await stub.acquire(cfg, Date.now() + cfg.cooldownMs);
    const { probe } = await stub.snapshot();
    expect((await stub.acquire(cfg)).allowed).toBe(false);
    expect((await stub.release("not-the-probe", cfg)).status).toBe("half-open");
    expect((await stub.acquire(cfg)).allowed).toBe(false);
    await stub.release(probe!, cfg);
    const next = await stub.acquire(cfg);
    expect(next).toMatchObject({ allowed: true, probe: expect.any(String) });
    expect(next.probe).not.toBe(probe);
  });

  it("a half-open probe cut off because the client went away gives its turn back: the next call probes, not waits a cool-down", async () => {
    const { tenantId, name, ask } = await halfOpen();
    // The probe: a slow call whose client goes away mid-call.
    await slowCallLeftMidway(tenantId, name);
    // Well within the cool-down since the probe went out: a probe kept would refuse this call (circuit_open).
    expect(await ask({ mode: "echo" })).toMatchObject({ ok: true });
  });

  it("calls cut off because the client went away do not count against the tool", async () => {
    const tenantId = await newTenant();
    const name = uniq("brk");
    await mockTool(tenantId, name);
    // Twice (the threshold), a client starts a streamed answer that waits on a slow tool call and goes away.
    for (let i = 0; i < 2; i++) await slowCallLeftMidway(tenantId, name);
    // The tool did nothing wrong: its breaker is closed and the next call runs it.
    const next = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "echo" } }] }, { echoTools: true }])], { tenantId, settings: BREAKER })).cio.tools[0]!;
    expect(next).toMatchObject({ ok: true });
  });
});
