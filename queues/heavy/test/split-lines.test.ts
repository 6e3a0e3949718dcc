import { describe, expect, it } from "vitest";
import { splitLines } from "../src/jobs/batch/plan.js";

/** `text` as a stream of `size`-byte chunks. */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, (at += size)));
    },
  });
}

/** Every line splitLines hands over (null: too large) and the offset past it. */
async function split(text: string, size: number, max: number) {
  const seen: [string | null, number][] = [];
  const read = await splitLines(chunked(text, size), max, (b, end) => (seen.push([b && new TextDecoder().decode(b), end]), true), async () => {});
  return { seen, read };
}

describe("splitLines", () => {
  const line = (n: number, c = "a") => c.repeat(n) + "\n";
  const text = line(5) + line(20, "b") + line(21, "c") + line(100, "d") + line(3, "e") + "f".repeat(25);

  it("hands over lines up to the bound and null for a longer one, in any chunking, with the offsets past each", async () => {
    const ends = [6, 27, 49, 150, 154, 179];
    for (const size of [1, 3, 7, 20, 64, 1000]) {
      const { seen, read } = await split(text, size, 20);
      expect(seen).toEqual([line(5), line(20, "b"), null, null, line(3, "e"), null].map((l, i) => [l, ends[i]]));
      expect(read).toBe(179);
    }
  });

  it("keeps a last line without a line break when it fits", async () => {
    expect((await split("ab\ncd", 2, 20)).seen).toEqual([["ab\n", 3], ["cd", 5]]);
  });
});
