/**
 * A file's content type is a response header on every download: the part's Content-Type is kept at upload
 * only when it is a media type (else the file is served as application/octet-stream), and a stored one is
 * checked again, so a NUL or a bare CR in it no longer makes every download of the file a 500.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { mediaType } from "../../../lib/http/media-type.js";
import { call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { uploaded } from "../../../test/support/heavy.js";
import type { GatewayEnv } from "../src/env.js";

/** Uploads "a\n1" as a.csv with the file part's Content-Type line as given. */
async function uploadTyped(t: TenantFixture, type: string): Promise<{ id: string }> {
  const { "content-type": _, ...auth } = t.headers;
  const body = [
    "--b", 'Content-Disposition: form-data; name="purpose"', "", "analysis",
    "--b", 'Content-Disposition: form-data; name="file"; filename="a.csv"', `Content-Type: ${type}`, "", "a\n1", "--b--", "",
  ].join("\r\n");
  const res = await call("/v1/files", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=b" }, body: new TextEncoder().encode(body) });
  expect(res.status).toBe(200);
  return res.json();
}

async function download(t: TenantFixture, id: string) {
  const res = await call(`/v1/files/${id}/content`, { headers: t.headers });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

describe("a file's content type", () => {
  it("keeps a media type as sent, parameters and quoted strings included", async () => {
    const t = await newTenant();
    for (const type of ["text/csv", 'text/csv; charset="utf-8"', "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]) {
      expect(await download(t, (await uploadTyped(t, type)).id)).toEqual({ status: 200, type, body: "a\n1" });
    }
  });

  it("stores no content type that is not a media type (a NUL, a bare CR, no subtype): the file downloads as application/octet-stream", async () => {
    const t = await newTenant();
    for (const type of ["text/csv\u0000", "text/csv\rx", "text/csv; a=b\u0000c", "csv", "text/csv; charset=utf 8"]) {
      const file = await uploadTyped(t, type);
      expect(await download(t, file.id), JSON.stringify(type)).toEqual({ status: 200, type: "application/octet-stream", body: "a\n1" });
      const [row] = await openDb((env as unknown as GatewayEnv).DB).select().from(schema.files).where(eqId(file.id));
      expect(row!.contentType).toBeNull();
    }
  });

  it("serves a file whose stored content type is no media type (stored before uploads were checked) as application/octet-stream", async () => {
    const t = await newTenant();
    const file = await uploaded(t.headers, "a.csv", "a\n1");
    await openDb((env as unknown as GatewayEnv).DB).update(schema.files).set({ contentType: "text/csv\rx" }).where(eqId(file.id));
    expect(await download(t, file.id)).toEqual({ status: 200, type: "application/octet-stream", body: "a\n1" });
  });

  it("matches RFC 9110's grammar, in linear time on a long near-miss", () => {
    expect(mediaType("text/csv;")).toBe("text/csv;");
    expect(mediaType('a/b; x="q\\"uote"; y=z')).toBe('a/b; x="q\\"uote"; y=z');
    for (const bad of [null, "", "/csv", "text/", "text/csv x", 'a/b; x="open', "a/b; x", "a/b\n"]) expect(mediaType(bad), JSON.stringify(bad)).toBeNull();
    const started = Date.now();
    expect(mediaType(`a/b${"; ".repeat(20_000)}\u0000`)).toBeNull();
    expect(mediaType(`a/b; x="${"\\\\ ".repeat(20_000)}`)).toBeNull();
    expect(Date.now() - started).toBeLessThan(500);
  });
});

const eqId = (id: string) => eq(schema.files.id, id);
