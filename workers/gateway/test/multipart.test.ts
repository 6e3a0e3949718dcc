/**
 * The streaming multipart reader under bodies shaped to cost: whatever their shape, it holds a bounded
 * number of bytes, copies each a bounded number of times, and stops reading a body it has refused.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { MultipartError, readMultipart } from "../../../lib/http/multipart.js";

const LIMITS = { maxHeaderBytes: 16 * 1024 };
const bytes = (s: string) => new TextEncoder().encode(s);

/** A body served in chunks of `size` bytes, counting the chunks the reader pulled. */
function chunked(data: Uint8Array, size: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let at = 0;
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= data.length) return c.close();
      pulled++;
      c.enqueue(data.slice(at, (at += size)));
    },
  }, { highWaterMark: 0 });
  return { body, pulled: () => pulled };
}

/** Every part's name and text, reading the parts as files.ts does. */
async function parts(body: ReadableStream<Uint8Array>, boundary = "XyZ"): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const part of readMultipart(body, boundary, LIMITS)) out.push([part.name, await new Response(part.body).text()]);
  return out;
}

const form = (preamble = "") =>
  bytes([`${preamble}--XyZ`, 'Content-Disposition: form-data; name="purpose"', "", "batch", "--XyZ", 'Content-Disposition: form-data; name="file"; filename="a.txt"', "", "a\r\n-b", "--XyZ--", ""].join("\r\n"));

describe("multipart reader bounds", () => {
  afterEach(() => vi.restoreAllMocks());

  it("refuses a body with no boundary in its first maxHeaderBytes, without reading the rest of it", async () => {
    const dashes = chunked(new Uint8Array(256 * 1024).fill(45), 1024);
    await expect(parts(dashes.body)).rejects.toThrow(new MultipartError("more than 16384 bytes precede the first boundary"));
    expect(dashes.pulled()).toBeLessThanOrEqual(LIMITS.maxHeaderBytes / 1024 + 2);
  });

  it("refuses a preamble past the bound even when the boundary arrives in the same chunk", async () => {
    await expect(parts(chunked(form("p".repeat(LIMITS.maxHeaderBytes + 1)), 64 * 1024).body)).rejects.toThrow(/precede the first boundary/);
    expect(await parts(chunked(form("p".repeat(LIMITS.maxHeaderBytes)), 64 * 1024).body)).toEqual([["purpose", "batch"], ["file", "a\r\n-b"]]);
  });

  it("refuses part headers longer than maxHeaderBytes, however they arrive", async () => {
    const long = (extra: number) => bytes(`--XyZ\r\nContent-Disposition: form-data; name="f"\r\nX-Pad: ${"h".repeat(LIMITS.maxHeaderBytes + extra)}\r\n\r\nbody\r\n--XyZ--`);
    await expect(parts(chunked(long(0), 64 * 1024).body)).rejects.toThrow(/part headers are longer than 16384 bytes/);
    const endless = chunked(long(1024 * 1024), 1024);
    await expect(parts(endless.body)).rejects.toThrow(/part headers are longer/);
    expect(endless.pulled()).toBeLessThanOrEqual(LIMITS.maxHeaderBytes / 1024 + 2);
  });

  it("copies each byte a bounded number of times, however small the chunks (headers byte by byte)", async () => {
    const data = bytes(`--XyZ\r\nContent-Disposition: form-data; name="f"\r\nX-Pad: ${"h".repeat(12 * 1024)}\r\n\r\n${"b".repeat(4096)}\r\n--XyZ--`);
    let copied = 0;
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, "set").mockImplementation(function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copied += src.length;
      return set.call(this, src, offset);
    });
    const copyWithin = Uint8Array.prototype.copyWithin;
    vi.spyOn(Uint8Array.prototype, "copyWithin").mockImplementation(function (this: Uint8Array, target: number, start: number, end?: number) {
      copied += (end ?? this.length) - start;
      return copyWithin.call(this, target, start, end);
    });
    const read = await parts(chunked(data, 1).body);
    vi.restoreAllMocks();
    expect(read.map(([name, text]) => [name, text.length])).toEqual([["f", 4096]]);
    expect(copied).toBeLessThan(4 * data.length);
  });

  it("finds boundaries split across chunks of any size", async () => {
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      expect({ size, parts: await parts(chunked(form("preamble\r\n"), size).body) }).toEqual({ size, parts: [["purpose", "batch"], ["file", "a\r\n-b"]] });
    }
  });

  it("refuses a boundary longer than RFC 2046's 70 characters before reading the body", async () => {
    const body = chunked(form(), 64);
    await expect(parts(body.body, "b".repeat(71))).rejects.toThrow(/boundary is longer than 70 characters/);
    expect(body.pulled()).toBe(0);
  });
});
