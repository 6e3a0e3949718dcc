/**
 * GET for tools that fetch a URL a caller names: redirects are followed by hand so every hop is checked
 * against the allow-list (fetch's own following would let an allowed URL bounce to 127.0.0.1 or a cloud
 * metadata address), and the body is read with a byte limit counted while streaming.
 */
import { assertAllowed } from "./allow-list.js";
import { ToolFailure } from "./tool-entrypoint.js";

export interface AllowedGet {
  allow: string[];
  /** The env variable holding `allow`, named in refusals. */
  setting: string;
  maxRedirects: number;
  signal: AbortSignal;
  /** Sent as User-Agent unless `headers` name one (ToolContext.userAgent). */
  userAgent: string;
  headers?: HeadersInit;
}

/** The first answer that is not a redirect, and the URL that gave it; its status is the caller's to judge. */
export async function fetchAllowed(start: URL, opts: AllowedGet): Promise<{ url: URL; res: Response }> {
  let url = start;
  const headers = new Headers(opts.headers);
  if (!headers.has("user-agent")) headers.set("user-agent", opts.userAgent);
  for (let hop = 0; ; hop++) {
    assertAllowed(url, opts.allow, opts.setting);
    const res = await fetch(url, { signal: opts.signal, redirect: "manual", headers });
    const location = res.headers.get("location");
    if (!(res.status >= 300 && res.status < 400 && location)) return { url, res };
    await res.body?.cancel();
    if (hop >= opts.maxRedirects) throw new ToolFailure("too_many_redirects", `more than ${opts.maxRedirects} redirects`);
    url = new URL(location, url);
  }
}

/**
 * The body, or `tooLarge` once it passes `maxBytes`. Counted while streaming because Content-Length may
 * be missing or wrong (chunked, compressed): an endless body is cut off, never buffered.
 */
export async function readLimited(res: Response, maxBytes: number, tooLarge: () => ToolFailure): Promise<Uint8Array> {
  if (Number(res.headers.get("content-length") ?? NaN) > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(r.value);
  }
  return concat(chunks, size);
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
