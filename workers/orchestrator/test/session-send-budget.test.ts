/**
 * What a session sends at once is bounded in bytes (CIO_SESSION_SEND_MAX_BYTES, 64 KiB in these tests): a replay
 * of its log stops where the budget ends and tells the client where to resume, and a page of its messages comes
 * back shorter, with has_more. Nothing is skipped or sent twice, and one item bigger than the budget still goes.
 */
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import type { SessionMessage } from "../../../lib/protocol/session.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import type { Frame, SessionClient } from "./session-client.js";
import { connect, e, newSession, type TestSession } from "./session-fixtures.js";

const BUDGET = Number((e as unknown as Record<string, string>).CIO_SESSION_SEND_MAX_BYTES);
const bytes = (x: unknown) => new TextEncoder().encode(typeof x === "string" ? x : JSON.stringify(x)).byteLength;

/** A turn whose question is a pasted document of about `size` bytes (ASCII). */
const pasted = (s: TestSession, id: string, size: number) =>
  s.stub.chatCompletion({
    requestId: id,
    tenantId: s.tenantId,
    keyId: "k-test",
    body: { model: "mock-model", session_id: s.sessionId, messages: [{ role: "user", content: withDirective(`${id}: ${"x".repeat(size)}`, { text: "ok" }) }] },
  }) as unknown as Promise<ChatReply>;

async function sessionOf(sizes: number[]) {
  const s = await newSession();
  for (const [i, size] of sizes.entries()) expect(await pasted(s, `t${i}`, size)).toMatchObject({ kind: "json" });
  return { s, lastSeq: (await s.stub.info(s))!.last_seq };
}

const resume = (after: number) => ({ type: "resume", after_seq: after });

/**
 * Sends `frame(0)`, then `frame(where the last replay stopped)`, until a replay reaches `lastSeq`. Returns the
 * events of each replay, each checked to be within the budget (or a single event).
 */
async function replayAll(c: SessionClient, frame: (after: number) => unknown, lastSeq: number): Promise<Frame[][]> {
  const replays: Frame[][] = [];
  let after = 0;
  for (let round = 0; round < 100; round++) {
    const from = c.frames.length;
    c.send(frame(after));
    const end = await c.waitFor((f) => f.code === "replay_incomplete" || f.seq === lastSeq, 8000, from);
    const events = c.frames.slice(from).filter((f) => typeof f.seq === "number");
    replays.push(events);
    if (events.length > 1) expect(events.reduce((n, f) => n + bytes(f), 0)).toBeLessThanOrEqual(BUDGET);
    if (end.code !== "replay_incomplete") return replays;
    expect(end).toMatchObject({ type: "error", next_after_seq: events.at(-1)!.seq });
    expect(end.seq).toBeUndefined();
    after = end.next_after_seq as number;
  }
  throw new Error("the replay never reached the end");
}

describe("a replay of the session's log", () => {
  it("stops at the byte budget and says where to resume; resuming from there replays the rest once, then the socket is live", async () => {
    const { s, lastSeq } = await sessionOf([20_000, 20_000, 20_000, 20_000, 20_000, 20_000]);
    const c = await connect(s);
    const replays = await replayAll(c, resume, lastSeq);
    expect(replays.length).toBeGreaterThan(1);
    const seqs = replays.flat().map((f) => f.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.at(-1)).toBe(lastSeq);
    expect(replays.flat().filter((f) => f.type === "message")).toHaveLength(12);
    // Live now: a new turn's events arrive without another resume.
    await pasted(s, "later", 10);
    await c.waitFor((f) => f.type === "message" && f.id === "later" && f.role === "assistant");
    c.close();
  });

  it("sends an event bigger than the whole budget on its own, and goes on after it", async () => {
    const { s, lastSeq } = await sessionOf([2 * BUDGET, 10]);
    const c = await connect(s);
    const replays = await replayAll(c, resume, lastSeq);
    expect(replays[0]).toEqual([expect.objectContaining({ type: "message", id: "t0", role: "user" })]);
    expect(replays.flat().filter((f) => f.type === "message").map((f) => f.id)).toEqual(["t0", "t0", "t1", "t1"]);
    c.close();
  });

  it("of the events since ready (a first frame that is not resume) stops too, and the next frame goes on from there", async () => {
    const s = await newSession();
    const c = await connect(s);
    for (const i of [0, 1, 2, 3, 4]) await pasted(s, `t${i}`, 20_000);
    const lastSeq = (await s.stub.info(s))!.last_seq;
    // The client does not resume: each frame it sends (a cancel of nothing here) goes on where the replay stopped.
    const replays = await replayAll(c, () => ({ type: "cancel", id: "nothing" }), lastSeq);
    expect(replays.length).toBeGreaterThan(1);
    const seqs = replays.flat().map((f) => f.seq as number);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(replays.flat().filter((f) => f.type === "message")).toHaveLength(10);
    c.close();
  });
});

describe("a page of the session's messages", () => {
  it("holds at most the byte budget of messages, with has_more, and paging on lists every message once", async () => {
    const { s } = await sessionOf([20_000, 20_000, 20_000, 20_000, 20_000, 20_000]);
    const pages: SessionMessage[][] = [];
    let after = 0;
    for (let more = true; more; ) {
      const page = (await s.stub.messages(s, after, 100))!;
      pages.push(page.data);
      more = page.has_more;
      after = page.data.at(-1)!.seq;
    }
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(p.reduce((n, m) => n + bytes(m.content), 0)).toBeLessThanOrEqual(BUDGET);
    expect(pages.flat().map((m) => `${m.id}:${m.role}`)).toEqual([0, 1, 2, 3, 4, 5].flatMap((i) => [`t${i}:user`, `t${i}:assistant`]));
  });

  it("holds a message bigger than the whole budget on its own", async () => {
    const { s } = await sessionOf([2 * BUDGET]);
    const first = (await s.stub.messages(s, 0, 100))!;
    expect(first).toMatchObject({ data: [{ id: "t0", role: "user" }], has_more: true });
    expect((await s.stub.messages(s, first.data[0]!.seq, 100))!).toMatchObject({ data: [{ id: "t0", role: "assistant" }], has_more: false });
  });
});
