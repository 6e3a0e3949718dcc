import { describe, expect, it } from "vitest";
import { call, chatBody, newTenant } from "../../../test/support/fixtures";

async function expectError(res: Response, status: number, type: string, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.type).toBe(type);
  expect(typeof body.error.message).toBe("string");
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

describe("errors have OpenAI's shape and a fitting status", () => {
  it("404 for an unknown route", async () => {
    await expectError(await call("/nope"), 404, "not_found_error", "unknown_url");
  });

  it("405 with Allow for a known path and the wrong method", async () => {
    const res = await call("/health", { method: "DELETE" });
    await expectError(res, 405, "invalid_request_error", "method_not_allowed");
    expect(res.headers.get("allow")).toContain("GET");
  });

  it("405, not 404, for the wrong method on a model id holding a raw slash, as on its encoded form", async () => {
    const t = await newTenant();
    for (const path of ["/v1/models/cio/auto", "/v1/models/@cf/meta/llama-3.1-8b-instruct", "/v1/models/cio%2Fauto"]) {
      const res = await call(path, { method: "DELETE", headers: t.headers });
      await expectError(res, 405, "invalid_request_error", "method_not_allowed");
      expect(res.headers.get("allow"), path).toBe("GET, HEAD");
    }
    await expectError(await call("/v1/models/", { method: "DELETE", headers: t.headers }), 404, "not_found_error", "unknown_url");
  });

  it("404, not 405, for a known path with a trailing slash: the router is strict about it", async () => {
    const t = await newTenant();
    await expectError(await call("/v1/sessions/", { headers: t.headers }), 404, "not_found_error", "unknown_url");
    await expectError(await call("/v1/files/", { headers: t.headers }), 404, "not_found_error", "unknown_url");
    await expectError(await call("/v1/sessions/sess_x/", { method: "DELETE", headers: t.headers }), 404, "not_found_error", "unknown_url");
  });

  it("413 when the body exceeds CIO_MAX_BODY_BYTES", async () => {
    const t = await newTenant();
    const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody("x".repeat(1024 * 1024 + 10)) });
    await expectError(res, 413, "invalid_request_error", "request_too_large");
  });

  it("415 for a body that is not JSON", async () => {
    const t = await newTenant();
    const res = await call("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: t.headers.authorization!, "content-type": "text/plain" },
      body: "hello",
    });
    await expectError(res, 415, "invalid_request_error", "unsupported_media_type");
  });

  it("400 for malformed JSON", async () => {
    const t = await newTenant();
    const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: "{not json" });
    await expectError(res, 400, "invalid_request_error");
  });

  it("400 names the invalid parameter the way OpenAI does", async () => {
    const t = await newTenant();
    const body = JSON.stringify({ model: "mock-model", messages: [{ role: "wizard", content: "hi" }] });
    const err = await expectError(await call("/v1/chat/completions", { method: "POST", headers: t.headers, body }), 400, "invalid_request_error");
    expect(err.param).toBe("messages[0].role");
  });

  it("400 for a missing model, temperature out of range and empty messages", async () => {
    const t = await newTenant();
    const cases: [unknown, string][] = [
      [{ messages: [{ role: "user", content: "hi" }] }, "model"],
      [{ model: "mock-model", messages: [{ role: "user", content: "hi" }], temperature: 7 }, "temperature"],
      [{ model: "mock-model", messages: [] }, "messages"],
    ];
    for (const [body, param] of cases) {
      const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: JSON.stringify(body) });
      expect((await expectError(res, 400, "invalid_request_error")).param).toBe(param);
    }
  });

  it("the incoming x-request-id is kept, on errors too; a fresh one is made otherwise", async () => {
    const res = await call("/nope", { headers: { "x-request-id": "req-from-client-42" } });
    expect(res.headers.get("x-request-id")).toBe("req-from-client-42");
    const a = (await call("/health")).headers.get("x-request-id");
    const b = (await call("/health")).headers.get("x-request-id");
    expect(a).toBeTruthy();
    expect(a).not.toBe(b);
  });
});

describe("CORS", () => {
  it("answers a browser preflight and exposes our headers", async () => {
    const res = await call("/v1/chat/completions", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, x-stainless-os" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const simple = await call("/health", { headers: { origin: "https://app.example" } });
    expect(simple.headers.get("access-control-expose-headers")).toContain("x-request-id");
    expect(simple.headers.get("access-control-expose-headers")).toContain("x-cio-query-id"); // to cancel a streamed runner query
  });
});
