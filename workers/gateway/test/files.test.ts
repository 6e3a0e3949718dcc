import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../lib/do-names.js";
import { call, chatBody, newTenant } from "../../../test/support/fixtures.js";
import { upload, uploaded } from "../../../test/support/heavy.js";
import type { GatewayEnv } from "../src/env.js";

const sha = async (b: ArrayBuffer | Uint8Array) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("files API", () => {
  it("uploads, lists, reads, downloads and deletes a file in OpenAI's shapes", async () => {
    const t = await newTenant();
    const res = await upload(t.headers, "data.csv", "a,b\n1,2\n");
    expect(res.status).toBe(200);
    const file = await res.json<Record<string, unknown>>();
    expect(file).toMatchObject({ object: "file", bytes: 8, filename: "data.csv", purpose: "analysis", status: "processed" });
    expect(file.id).toMatch(/^file-/);
    expect(await (await call(`/v1/files/${file.id}`, { headers: t.headers })).json()).toEqual(file);
    const list = await (await call("/v1/files", { headers: t.headers })).json<{ data: { id: string }[] }>();
    expect(list.data.map((f) => f.id)).toEqual([file.id]);
    const content = await call(`/v1/files/${file.id}/content`, { headers: t.headers });
    expect(await content.text()).toBe("a,b\n1,2\n");
    const del = await call(`/v1/files/${file.id}`, { method: "DELETE", headers: t.headers });
    expect(await del.json()).toEqual({ id: file.id, object: "file", deleted: true });
    expect((await call(`/v1/files/${file.id}`, { headers: t.headers })).status).toBe(404);
    expect((await call(`/v1/files/${file.id}/content`, { headers: t.headers })).status).toBe(404);
  });

  it("uploads while the tenant's daily token budget is spent: an upload spends no tokens (a chat is refused)", async () => {
    const t = await newTenant({ daily_token_budget: 10 });
    await limiterStub((env as unknown as GatewayEnv).RATE_LIMITER, t.tenantId).settle(null, { tenantId: t.tenantId, model: "mock-model", usage: { prompt_tokens: 6, completion_tokens: 6, total_tokens: 12 } });
    const chat = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody("hi") });
    expect([chat.status, chat.headers.get("x-should-retry")]).toEqual([429, "false"]);
    const res = await upload(t.headers, "tomorrow.jsonl", "{}\n", "batch");
    expect(res.status).toBe(200);
  });

  it("streams a file larger than one upload piece to R2 intact (multipart upload)", async () => {
    const t = await newTenant();
    const big = new Uint8Array(11 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) crypto.getRandomValues(big.subarray(i, Math.min(big.length, i + 4096)));
    const file = await uploaded(t.headers, "big.bin", big, "batch");
    const content = await call(`/v1/files/${file.id}/content`, { headers: t.headers });
    const back = await content.arrayBuffer();
    expect(back.byteLength).toBe(big.length);
    expect(await sha(back)).toBe(await sha(big));
  }, 120_000);

  it("refuses a file over the size limit with 413 and keeps nothing", async () => {
    const t = await newTenant();
    const res = await upload(t.headers, "huge.bin", new Uint8Array(12 * 1024 * 1024 + 1), "batch");
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("file_too_large");
    expect((await (await call("/v1/files", { headers: t.headers })).json<{ data: unknown[] }>()).data).toEqual([]);
  }, 120_000);

  it("rejects bad uploads with OpenAI errors and stores nothing", async () => {
    const t = await newTenant();
    const bad = await upload(t.headers, "x.csv", "a\n1\n", "fine-tune");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: "invalid_request_error", param: "purpose" } });
    const form = new FormData();
    form.append("purpose", "analysis");
    const { "content-type": _, ...auth } = t.headers;
    const missing = await call("/v1/files", { method: "POST", headers: auth, body: form });
    expect(missing.status).toBe(400);
    expect((await missing.json<{ error: { param: string } }>()).error.param).toBe("file");
    const json = await call("/v1/files", { method: "POST", headers: t.headers, body: "{}" });
    expect(json.status).toBe(415);
    expect((await (await call("/v1/files", { headers: t.headers })).json<{ data: unknown[] }>()).data).toEqual([]);
  });

  it("refuses a chunked upload whose first boundary lies past CIO_FILES_MAX_HEADER_BYTES with a 400, without reading the rest", async () => {
    const t = await newTenant();
    const { "content-type": _, ...auth } = t.headers;
    // No Content-Length: a chunked body is checked only as it is read.
    const send = (preamble: number, chunks: number) => {
      let pulled = 0;
      const form = new TextEncoder().encode(['--XyZ', 'Content-Disposition: form-data; name="purpose"', "", "analysis", "--XyZ", 'Content-Disposition: form-data; name="file"; filename="a.csv"', "", "a\n1", "--XyZ--", ""].join("\r\n"));
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (pulled++ < chunks) return c.enqueue(new Uint8Array(Math.ceil(preamble / chunks)).fill(45));
          c.enqueue(form);
          c.close();
        },
      }, { highWaterMark: 0 });
      const res = call("/v1/files", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=XyZ" }, body, duplex: "half" } as RequestInit);
      return { res, pulled: () => pulled };
    };
    const small = send(1024, 1);
    expect((await small.res).status).toBe(200);
    const over = send(24 * 1024, 24);
    const res = await over.res;
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { type: "invalid_request_error", code: "invalid_value", param: null, message: "Malformed multipart body: more than 16384 bytes precede the first boundary." } });
    expect((await (await call("/v1/files", { headers: t.headers })).json<{ data: unknown[] }>()).data).toHaveLength(1);
    const endless = send(64 * 1024 * 1024, 64 * 1024);
    expect((await endless.res).status).toBe(400);
    expect(endless.pulled()).toBeLessThan(64); // of 65536 1 KiB chunks
  });

  it("refuses a chunked upload past CIO_FILES_MAX_BYTES with a 413 counting the parts it skips, without reading on", async () => {
    const t = await newTenant();
    const { "content-type": _, ...auth } = t.headers;
    // A 64 MiB field the upload does not use, after a valid form's first part: no Content-Length to check.
    let pulled = 0;
    const text = (lines: string[]) => new TextEncoder().encode(lines.join("\r\n"));
    const head = text(["--XyZ", 'Content-Disposition: form-data; name="purpose"', "", "analysis", "--XyZ", 'Content-Disposition: form-data; name="junk"', "", ""]);
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled++ === 0) return c.enqueue(head);
        if (pulled <= 65) return c.enqueue(new Uint8Array(1024 * 1024).fill(120));
        c.enqueue(text(["", "--XyZ--", ""]));
        c.close();
      },
    }, { highWaterMark: 0 });
    const res = await call("/v1/files", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=XyZ" }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", code: "file_too_large", param: "file" } });
    // The test configuration's limit is 12 MiB: the body was read little past it.
    expect(pulled).toBeLessThan(16);
    expect((await (await call("/v1/files", { headers: t.headers })).json<{ data: unknown[] }>()).data).toEqual([]);
  });

  it("takes RFC 5987 file names (filename*=), and one it cannot decode falls back instead of failing", async () => {
    const t = await newTenant();
    const { "content-type": _, ...auth } = t.headers;
    const send = (disposition: string) => {
      const body = [
        "--b", 'Content-Disposition: form-data; name="purpose"', "", "analysis",
        "--b", `Content-Disposition: form-data; name="file"; ${disposition}`, "Content-Type: text/csv", "", "a\n1", "--b--", "",
      ].join("\r\n");
      return call("/v1/files", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=b" }, body });
    };
    const names = [];
    for (const d of ["filename*=UTF-8''caf%C3%A9.csv", "filename*=ISO-8859-1''caf%E9.csv", 'filename="plain.csv"; filename*=UTF-8\'\'100%.csv']) {
      const res = await send(d);
      expect({ d, status: res.status }).toEqual({ d, status: 200 });
      names.push((await res.json<{ filename: string }>()).filename);
    }
    expect(names).toEqual(["café.csv", "café.csv", "plain.csv"]);
  });

  it("downloads a file whatever its name: control characters, quotes and non-Latin-1 go in filename*, never break the header", async () => {
    const t = await newTenant();
    const { "content-type": _, ...auth } = t.headers;
    for (const [disposition, stored] of [
      ["filename*=UTF-8''a%0D%0Ab%00.csv", "a\r\nb\0.csv"],
      ["filename*=UTF-8''%E6%97%A5%E6%9C%AC.csv", "日本.csv"],
      ["filename*=UTF-8''we%22ird%5C(1).csv", 'we"ird\\(1).csv'],
    ]) {
      const body = [
        "--b", 'Content-Disposition: form-data; name="purpose"', "", "analysis",
        "--b", `Content-Disposition: form-data; name="file"; ${disposition}`, "Content-Type: text/csv", "", "a\n1", "--b--", "",
      ].join("\r\n");
      const up = await call("/v1/files", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=b" }, body });
      const file = await up.json<{ id: string; filename: string }>();
      expect(file.filename).toBe(stored);
      const res = await call(`/v1/files/${file.id}/content`, { headers: t.headers });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("a\n1");
      const header = res.headers.get("content-disposition")!;
      expect(header).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''[A-Za-z0-9%!._~-]+$/);
      expect(decodeURIComponent(header.split("''")[1]!)).toBe(file.filename);
    }
  });

  it("keeps tenants apart: another tenant's file is not found, for reading, downloading and deleting", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const file = await uploaded(a.headers, "secret.csv", "x\n1\n");
    for (const [method, path] of [["GET", `/v1/files/${file.id}`], ["GET", `/v1/files/${file.id}/content`], ["DELETE", `/v1/files/${file.id}`]] as const) {
      const res = await call(path, { method, headers: b.headers });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await call(`/v1/files/${file.id}`, { headers: a.headers })).status).toBe(200);
  });

  it("lists page by page with after, as OpenAI's SDKs page: every file once, has_more false on the last page", async () => {
    const t = await newTenant();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await uploaded(t.headers, `f${i}.txt`, `file ${i}`)).id);
    // Files created in the same millisecond must neither be skipped nor repeated at a page's edge.
    await (env as unknown as { DB: D1Database }).DB.prepare("UPDATE files SET created_at = 1000 WHERE tenant_id = ?").bind(t.tenantId).run();
    type Page = { data: { id: string }[]; has_more: boolean; last_id: string | null };
    const page = async (q: string) => (await call(`/v1/files?${q}`, { headers: t.headers })).json<Page>();
    const seen: string[] = [];
    let p = await page("limit=2");
    for (let i = 0; i < 5 && (seen.push(...p.data.map((f) => f.id)), p.has_more); i++) p = await page(`limit=2&after=${p.last_id}`);
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await page("limit=5")).has_more).toBe(false);
    const unknown = await call("/v1/files?after=file-nope", { headers: t.headers });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { param: "after" } });
  });

  it("refuses bad list parameters with a 400 naming them instead of a silent default", async () => {
    const t = await newTenant();
    await uploaded(t.headers, "a.csv", "a\n1\n");
    for (const [q, param] of [["limit=abc", "limit"], ["limit=0", "limit"], ["limit=1.5", "limit"], ["purpose=anything", "purpose"], ["order=sideways", "order"]] as const) {
      const res = await call(`/v1/files?${q}`, { headers: t.headers });
      expect(res.status, q).toBe(400);
      expect(await res.json(), q).toMatchObject({ error: { type: "invalid_request_error", param } });
    }
    for (const q of ["limit=abc", "limit=101"]) expect((await call(`/v1/batches?${q}`, { headers: t.headers })).status, q).toBe(400);
    const analysis = await (await call("/v1/files?purpose=analysis&limit=1", { headers: t.headers })).json<{ data: { purpose: string }[] }>();
    expect(analysis.data.map((f) => f.purpose)).toEqual(["analysis"]);
    expect((await (await call("/v1/files?purpose=batch", { headers: t.headers })).json<{ data: unknown[] }>()).data).toEqual([]);
  });

  it("lists newest first, or oldest first with order=asc, paging the same way", async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (const name of ["a.csv", "b.csv", "c.csv"]) ids.push((await uploaded(t.headers, name, "a\n1\n")).id);
    const page = async (q: string) => (await (await call(`/v1/files?${q}`, { headers: t.headers })).json<{ data: { id: string }[]; has_more: boolean }>());
    expect((await page("")).data.map((f) => f.id)).toEqual([...ids].reverse());
    const first = await page("order=asc&limit=2");
    expect(first).toMatchObject({ data: [{ id: ids[0] }, { id: ids[1] }], has_more: true });
    expect((await page(`order=asc&limit=2&after=${ids[1]}`)).data.map((f) => f.id)).toEqual([ids[2]]);
  });

  describe("expires_after", () => {
    const db = () => (env as unknown as { DB: D1Database }).DB;
    const withExpiry = (t: { headers: Record<string, string> }, fields: Record<string, string>, purpose = "analysis") => {
      const form = new FormData();
      form.append("purpose", purpose);
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append("file", new File(["a,b\n1,2\n"], "short-lived.csv"));
      const { "content-type": _, ...auth } = t.headers;
      return call("/v1/files", { method: "POST", headers: auth, body: form });
    };

    it("takes OpenAI's expires_after form fields and reports expires_at; a file without one never expires", async () => {
      const t = await newTenant();
      const res = await withExpiry(t, { "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600" });
      expect(res.status).toBe(200);
      const file = await res.json<{ id: string; created_at: number; expires_at: number }>();
      expect(file.expires_at - file.created_at).toBeGreaterThanOrEqual(3599);
      expect(file.expires_at - file.created_at).toBeLessThanOrEqual(3601);
      expect(await (await call(`/v1/files/${file.id}`, { headers: t.headers })).json()).toMatchObject({ expires_at: file.expires_at });
      expect(await (await upload(t.headers, "kept.csv", "a\n1\n")).json()).toMatchObject({ expires_at: null });
    });

    it("refuses an expiry OpenAI refuses (under an hour, over 30 days, another anchor, half of it) and stores nothing", async () => {
      const t = await newTenant();
      const refused: Record<string, string>[] = [
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "60" },
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001" },
        { "expires_after[anchor]": "last_active_at", "expires_after[seconds]": "3600" },
        { "expires_after[seconds]": "3600" },
        { "expires_after[anchor]": "created_at", "expires_after[seconds]": "soon" },
      ];
      for (const fields of refused) {
        const res = await withExpiry(t, fields);
        expect(res.status, JSON.stringify(fields)).toBe(400);
        expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "expires_after" } });
      }
      expect((await db().prepare("SELECT COUNT(*) AS n FROM files WHERE tenant_id = ?").bind(t.tenantId).first<{ n: number }>())!.n).toBe(0);
    });

    it("an expired file is gone for every use at once: read, download, delete, listing and a batch's input", async () => {
      const t = await newTenant();
      const file = await (await withExpiry(t, { "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600" }, "batch")).json<{ id: string }>();
      const kept = await uploaded(t.headers, "kept.jsonl", "{}\n", "batch");
      await db().prepare("UPDATE files SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, file.id).run();
      for (const [method, path] of [["GET", `/v1/files/${file.id}`], ["GET", `/v1/files/${file.id}/content`], ["DELETE", `/v1/files/${file.id}`]] as const) {
        expect((await call(path, { method, headers: t.headers })).status, `${method} ${path}`).toBe(404);
      }
      const list = await (await call("/v1/files", { headers: t.headers })).json<{ data: { id: string }[] }>();
      expect(list.data.map((f) => f.id)).toEqual([kept.id]);
      const batch = await call("/v1/batches", { method: "POST", headers: t.headers, body: JSON.stringify({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }) });
      expect(batch.status).toBe(400);
      expect(await batch.json()).toMatchObject({ error: { param: "input_file_id", code: "file_not_found" } });
    });
  });

  it("needs the files scope", async () => {
    const t = await newTenant({}, { scopes: ["chat"] });
    expect((await upload(t.headers, "a.csv", "a\n")).status).toBe(403);
    expect((await call("/v1/files", { headers: t.headers })).status).toBe(403);
  });
});
