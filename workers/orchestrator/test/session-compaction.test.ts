/**
 * The event log is compacted (durable-objects/session/compaction.ts): every delta used to be kept for good,
 * so a long session's log grew without bound and a resume from far back replayed all of it in one step.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CompactRules } from "../../../durable-objects/session/compaction.js";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { textOf, type Frame, type SessionClient } from "./session-client.js";
import { connect, newSession, type TestSession } from "./session-fixtures.js";

const ANSWER = "one two three four five six seven eight";
const HOUR = 3_600_000;
const chat = (id: string, d: Record<string, unknown> = {}) => ({ type: "chat", id, content: withDirective("hello", { text: ANSWER, ...d }) });
const done = (id: string) => (f: Frame) => f.type === "message" && f.id === id && f.role === "assistant";

type Row = { seq: number; type: string; id: string | null };
const rows = (s: TestSession) =>
  runInDurableObject(s.stub, (_o: SessionDO, state) =>
    state.storage.sql.exec<Row>("SELECT seq, type, json_extract(data, '$.id') AS id FROM events ORDER BY seq").toArray(),
  );
/** Moves a turn's end back in time, as if it had ended `ms` earlier. */
const endedAgo = (s: TestSession, id: string, ms: number) =>
  runInDurableObject(s.stub, (_o: SessionDO, state) => void state.storage.sql.exec("UPDATE turns SET ended_at = ended_at - ? WHERE id = ?", ms, id));
/** One compaction pass with the given rules, straight on the store. */
const compact = (s: TestSession, rules: Partial<CompactRules>) =>
  runInDurableObject(s.stub, (o: SessionDO) => {
    const store = (o as unknown as { core: { store: { compact(r: CompactRules): boolean } } }).core.store;
    return store.compact({ now: Date.now(), deltaRetentionMs: HOUR, maxEvents: 50_000, ...rules });
  });

async function turns(s: TestSession, ids: string[]): Promise<SessionClient> {
  const c = await connect(s);
  c.send({ type: "resume", after_seq: 0 });
  for (const id of ids) {
    c.send(chat(id));
    await c.waitFor(done(id));
  }
  return c;
}

/** A new socket's replay of the whole log, up to the event `until` matches. */
async function replay(s: TestSession, until: (f: Frame) => boolean): Promise<Frame[]> {
  const c = await connect(s);
  c.send({ type: "resume", after_seq: 0 });
  await c.waitFor(until);
  c.close();
  return c.events();
}

describe("SessionDO event log compaction", () => {
  it("drops the deltas of turns that ended before the retention, keeps their messages, and replays the rest exactly once in order", async () => {
    const s = await newSession();
    (await turns(s, ["old1", "old2", "new1"])).close();
    const before = await rows(s);
    await endedAgo(s, "old1", 2 * HOUR);
    await endedAgo(s, "old2", 2 * HOUR);
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);

    const after = await rows(s);
    expect(after.filter((r) => r.type === "delta" && r.id !== "new1")).toEqual([]);
    // Nothing else went, and no seq changed.
    expect(after).toEqual(before.filter((r) => r.type !== "delta" || r.id === "new1"));
    expect(after.filter((r) => r.type === "message").map((r) => r.id)).toEqual(["old1", "old1", "old2", "old2", "new1", "new1"]);

    const seen = await replay(s, done("new1"));
    expect(seen.map((f) => f.seq)).toEqual(after.map((r) => r.seq));
    expect(seen.filter((f) => f.type === "message").map((f) => [f.id, f.role])).toEqual([
      ["old1", "user"], ["old1", "assistant"], ["old2", "user"], ["old2", "assistant"], ["new1", "user"], ["new1", "assistant"],
    ]);
    expect(seen.find(done("old1"))!.content).toBe(ANSWER);
    // The recent turn still replays token by token.
    expect(textOf(seen, "new1")).toBe(ANSWER);
    expect(textOf(seen, "old1")).toBe("");
  });

  it("keeps the deltas of a running turn and of turns ended within the retention, and a resume then follows the running turn to its end", async () => {
    const s = await newSession();
    const c = await turns(s, ["recent"]);
    c.send(chat("running", { chunkDelayMs: 150 }));
    await c.waitFor((f) => f.type === "delta" && f.id === "running");
    // A pass far in the future: only ended turns are touched, and "recent" ended within the hour.
    expect(await compact(s, { now: Date.now() + HOUR / 2 })).toBe(false);
    expect((await rows(s)).filter((r) => r.type === "delta" && r.id === "recent")).toHaveLength(ANSWER.split(" ").length);
    expect(await compact(s, { now: Date.now() + 100 * HOUR })).toBe(false);
    const kept = await rows(s);
    expect(kept.some((r) => r.type === "delta" && r.id === "running")).toBe(true);
    expect(kept.some((r) => r.type === "delta" && r.id === "recent")).toBe(false);

    const seen = await replay(s, done("running"));
    const seqs = seen.map((f) => f.seq!);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(textOf(seen, "running")).toBe(ANSWER);
    c.close();
  });

  it("schedules the alarm for when an ended turn's deltas are due, not only the session's expiry", async () => {
    const s = await newSession();
    (await turns(s, ["t1"])).close();
    const ended = await runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec<{ at: number }>("SELECT ended_at AS at FROM turns").one().at);
    const alarm = await runInDurableObject(s.stub, async (_o: SessionDO, state) => (await state.storage.getAlarm())!);
    expect(alarm).toBeLessThanOrEqual(ended + HOUR);
  });

  it("bounds one pass by its batch, and the next pass goes on where it stopped", async () => {
    const s = await newSession();
    (await turns(s, ["t1", "t2"])).close();
    const deltas = async () => (await rows(s)).filter((r) => r.type === "delta").length;
    const all = await deltas();
    expect(await compact(s, { now: Date.now() + 2 * HOUR, batch: 3 })).toBe(true);
    expect(await deltas()).toBe(all - 3);
    while (await compact(s, { now: Date.now() + 2 * HOUR, batch: 3 }));
    expect(await deltas()).toBe(0);
  });

  it("past the cap drops the oldest events; a resume from before them is refused as resume_too_old, and one from the floor replays the rest", async () => {
    const s = await newSession();
    (await turns(s, ["t1", "t2"])).close();
    const before = await rows(s);
    expect(await compact(s, { maxEvents: 5 })).toBe(false);
    const kept = await rows(s);
    expect(kept).toEqual(before.slice(-5));
    const floor = before.at(-6)!.seq;

    const c = await connect(s);
    c.send({ type: "resume", after_seq: floor - 1 });
    const refused = await c.waitFor((f) => f.type === "error" && f.code === "resume_too_old");
    expect(refused).toMatchObject({ min_after_seq: floor });
    expect(refused.seq).toBeUndefined();
    expect(refused.message).toContain("/v1/sessions/:id/messages");
    // The socket is not live yet: it may resume again, from the floor.
    c.send({ type: "resume", after_seq: floor });
    await c.waitFor(done("t2"));
    expect(c.events().map((f) => f.seq)).toEqual(kept.map((r) => r.seq));
    c.close();
    // The conversation itself is all there for the reload.
    const page = await s.stub.messages(s, 0, 10);
    expect(page!.data.map((m) => [m.id, m.role])).toEqual([["t1", "user"], ["t1", "assistant"], ["t2", "user"], ["t2", "assistant"]]);
  });

  it("tells a socket that starts without resume when events after its ready were dropped, before the rest", async () => {
    const s = await newSession();
    const a = await turns(s, ["t1"]);
    const b = await connect(s);
    const readySeq = b.frames[0]!.last_seq as number;
    a.send(chat("t2"));
    await a.waitFor(done("t2"));
    expect(await compact(s, { maxEvents: 3 })).toBe(false);
    const kept = await rows(s);
    b.send({ type: "cancel", id: "nothing" });
    await b.waitFor((f) => f.type === "error" && f.code === "unknown_turn");
    const notice = b.frames.findIndex((f) => f.code === "resume_too_old");
    expect(b.frames[notice]).toMatchObject({ min_after_seq: kept[0]!.seq - 1 });
    expect(kept[0]!.seq - 1).toBeGreaterThan(readySeq);
    expect(notice).toBeLessThan(b.frames.findIndex((f) => typeof f.seq === "number"));
    expect(b.events().map((f) => f.seq)).toEqual(kept.map((r) => r.seq));
    a.close();
    b.close();
  });

  it("never gives out a seq the cap dropped again, even after a restart with no event left", async () => {
    const s = await newSession();
    (await turns(s, ["t1"])).close();
    const last = (await s.stub.info(s))!.last_seq;
    await compact(s, { maxEvents: 0 });
    expect(await rows(s)).toEqual([]);
    await evictDurableObject(s.stub);
    expect((await s.stub.info(s))!.last_seq).toBe(last);
    const c = await turns(s, ["t2"]);
    expect(c.events()[0]!.seq).toBe(last + 1);
    c.close();
  });
});
