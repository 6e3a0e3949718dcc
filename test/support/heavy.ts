/** Helpers for tests of heavy work through the gateway: uploads and waiting for queued work to finish. */
import { call } from "./fixtures.js";

export async function upload(headers: Record<string, string>, filename: string, content: string | Uint8Array, purpose = "analysis"): Promise<Response> {
  const form = new FormData();
  form.append("purpose", purpose);
  form.append("file", new File([content], filename));
  const { "content-type": _, ...auth } = headers;
  return call("/v1/files", { method: "POST", headers: auth, body: form });
}

export async function uploaded(headers: Record<string, string>, filename: string, content: string | Uint8Array, purpose = "analysis"): Promise<{ id: string }> {
  const res = await upload(headers, filename, content, purpose);
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Polls `path` until `done(body)` holds; the queue delivers in batches about a second apart. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

export async function waitFor(headers: Record<string, string>, path: string, done: (b: Json) => boolean, timeoutMs = 60_000): Promise<Json> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await call(path, { headers })).json()) as Json;
    if (done(body)) return body;
    if (Date.now() > until) throw new Error(`timed out waiting on ${path}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
