/**
 * GET a JSON document: follows redirects by hand so every hop is checked against the allow-list, reads
 * at most `maxBytes` of body, and maps HTTP failures to retryable or not.
 */
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";
import { assertAllowed } from "./allow-list.js";
import type { Settings } from "./settings.js";

export interface Fetched {
  url: string;
  status: number;
  json: unknown;
}

export async function fetchJson(start: URL, settings: Settings, signal: AbortSignal): Promise<Fetched> {
  let url = start;
  for (let hop = 0; ; hop++) {
    assertAllowed(url, settings.allow);
    const res = await fetch(url, { signal, redirect: "manual", headers: { accept: "application/json" } });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (hop >= settings.maxRedirects) throw new ToolFailure("too_many_redirects", `more than ${settings.maxRedirects} redirects`);
      url = new URL(location, url);
      continue;
    }
    if (!res.ok) throw await httpFailure(res);
    const text = await readLimited(res, settings.maxBytes);
    return { url: url.toString(), status: res.status, json: parseJson(text) };
  }
}

/** 408, 425, 429 and 5xx may pass with time; any other 4xx will not. */
async function httpFailure(res: Response): Promise<ToolFailure> {
  await res.body?.cancel();
  const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
  const message = `the server answered HTTP ${res.status} ${res.statusText}`.trim();
  return new ToolFailure(retryable ? "upstream_unavailable" : "upstream_rejected", message, retryable);
}

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge(maxBytes);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    // Counted while streaming because Content-Length may be missing or wrong (chunked, compressed).
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(r.value);
  }
  return new TextDecoder().decode(concat(chunks, size));
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

const tooLarge = (maxBytes: number) =>
  new ToolFailure("response_too_large", `the response is larger than the ${maxBytes}-byte limit`);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolFailure("not_json", "the response is not valid JSON");
  }
}
