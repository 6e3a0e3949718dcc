import { describe, expect, it } from "vitest";
import { GroupCommit, GroupCommits } from "../../../lib/group-commit.js";

/** A send whose calls stay open until released, so the test decides when a round trip ends. */
function gatedSend() {
  const calls: { items: number[]; release: () => void }[] = [];
  const send = (items: number[]) =>
    new Promise<number[]>((resolve) => calls.push({ items: [...items], release: () => resolve(items.map((i) => i * 10)) }));
  return { calls, send };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("GroupCommit", () => {
  it("sends an item at once when nothing is on its way", async () => {
    const commit = new GroupCommit<number, number>(10);
    const { calls, send } = gatedSend();
    const r = commit.add(1, send);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.release();
    expect(await r).toBe(10);
    expect(commit.idle).toBe(true);
  });

  it("items that arrive during a call go together in the next one, each with its own result", async () => {
    const commit = new GroupCommit<number, number>(10);
    const { calls, send } = gatedSend();
    const results = [1, 2, 3, 4].map((i) => commit.add(i, send));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.release();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.release();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40]);
  });

  it("never puts more than the maximum in one call", async () => {
    const commit = new GroupCommit<number, number>(2);
    const { calls, send } = gatedSend();
    const results = [1, 2, 3, 4, 5, 6].map((i) => commit.add(i, send));
    for (let n = 0; n < 10 && calls.length < 4; n++) {
      await tick();
      calls.at(-1)!.release();
    }
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4, 5], [6]]);
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it("a failed call fails every item in it, and the next batch still goes", async () => {
    const commit = new GroupCommit<number, number>(10);
    const { calls, send } = gatedSend();
    const failing = (items: number[]) => send(items).then(() => Promise.reject(new Error("object unavailable")));
    const first = commit.add(1, send);
    const failed = [commit.add(2, failing), commit.add(3, failing)];
    await tick();
    calls[0]!.release();
    expect(await first).toBe(10);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    calls[1]!.release();
    for (const f of failed) await expect(f).rejects.toThrow("object unavailable");
    const next = commit.add(4, send);
    await tick();
    calls[2]!.release();
    expect(await next).toBe(40);
    expect(commit.idle).toBe(true);
  });
});

describe("GroupCommits", () => {
  it("batches per key: one key's call in flight does not hold back another's", async () => {
    const commits = new GroupCommits<number, number>();
    const a = gatedSend();
    const b = gatedSend();
    const ra = [1, 2, 3].map((i) => commits.add("a", 10, i, a.send));
    const rb = commits.add("b", 10, 7, b.send);
    await tick();
    expect(a.calls.map((c) => c.items)).toEqual([[1]]);
    expect(b.calls.map((c) => c.items)).toEqual([[7]]);
    b.calls[0]!.release();
    expect(await rb).toBe(70);
    a.calls[0]!.release();
    await tick();
    expect(a.calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    a.calls[1]!.release();
    expect(await Promise.all(ra)).toEqual([10, 20, 30]);
  });

  it("drops a key's commit once it is idle, and starts afresh after", async () => {
    const commits = new GroupCommits<number, number>();
    const { calls, send } = gatedSend();
    const first = commits.add("a", 10, 1, send);
    await tick();
    calls[0]!.release();
    expect(await first).toBe(10);
    expect((commits as unknown as { byKey: Map<string, unknown> }).byKey.size).toBe(0);
    const second = commits.add("a", 10, 2, send);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]); // sent at once: nothing was on its way
    calls[1]!.release();
    expect(await second).toBe(20);
  });
});
