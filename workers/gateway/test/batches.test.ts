import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../lib/do-names.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { call, newTenant } from "../../../test/support/fixtures.js";
import { uploaded, waitFor } from "../../../test/support/heavy.js";
import { toBatchObject, type BatchRow } from "../../../lib/heavy/batches.js";
import type { GatewayEnv } from "../src/env.js";

const line = (customId: string, content: string, model = "mock-model", extra: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id: customId, method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content }], ...extra } });
const create = (headers: Record<string, string>, fileId: string) =>
  call("/v1/batches", { method: "POST", headers, body: JSON.stringify({ input_file_id: fileId, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { job: "test" } }) });
const settled = (b: Record<string, any>) => ["completed", "failed", "cancelled", "expired"].includes(b.status);
const limiter = (tenantId: string) => limiterStub((env as unknown as GatewayEnv).RATE_LIMITER, tenantId);
/** The task that runs a batch, as GET /v1/tasks/{id} shows it. */
const taskOf = async (headers: Record<string, string>, batchId: string) => {
  const row = await (env as unknown as GatewayEnv).DB.prepare("SELECT task_id FROM batches WHERE id = ?").bind(batchId).first<{ task_id: string }>();
  return (await call(`/v1/tasks/${row!.task_id}`, { headers })).json<Record<string, any>>();
};
const jsonl = async (headers: Record<string, string>, fileId: string) =>
  (await (await call(`/v1/files/${fileId}/content`, { headers })).text()).trim().split("\n").map((l) => JSON.parse(l));

describe("batches API", { timeout: 90_000 }, () => {
  it("runs every request of the input file and writes OpenAI output and error files", async () => {
    const t = await newTenant();
    // req-7 asked for a stream with its usage chunk: a batch line runs unstreamed, as OpenAI's do. The model
    // refuses req-3 (a 400, final: a batch names one model, so a bad request is the model's to answer).
    const streamed = { stream: true, stream_options: { include_usage: true } };
    const lines = Array.from({ length: 10 }, (_, i) =>
      line(`req-${i}`, withDirective(`q${i}`, i === 3 ? { status: 400, errorMessage: "bad request" } : { text: `answer ${i}` }), "mock-model", i === 7 ? streamed : {}),
    );
    const input = await uploaded(t.headers, "in.jsonl", lines.join("\n") + "\n", "batch");
    const res = await create(t.headers, input.id);
    expect(res.status).toBe(200);
    const batch = await res.json<Record<string, any>>();
    expect(batch).toMatchObject({ object: "batch", status: "validating", input_file_id: input.id, endpoint: "/v1/chat/completions", metadata: { job: "test" } });
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 10, completed: 9, failed: 1 }, errors: null });
    expect(done.completed_at).toBeGreaterThan(0);
    expect(await taskOf(t.headers, batch.id)).toMatchObject({ status: "succeeded", progress: 1 });
    const out = await jsonl(t.headers, done.output_file_id);
    expect(out.map((o) => o.custom_id).sort()).toEqual(["req-0", "req-1", "req-2", "req-4", "req-5", "req-6", "req-7", "req-8", "req-9"]);
    const five = out.find((o) => o.custom_id === "req-5");
    expect(five).toMatchObject({ response: { status_code: 200, body: { object: "chat.completion", choices: [{ message: { content: "answer 5" } }] } }, error: null });
    const errors = await jsonl(t.headers, done.error_file_id);
    expect(errors).toEqual([expect.objectContaining({ custom_id: "req-3", response: expect.objectContaining({ status_code: 400, body: { error: expect.objectContaining({ type: "invalid_request_error" }) } }) })]);
    expect(await (await call(`/v1/files/${done.output_file_id}`, { headers: t.headers })).json()).toMatchObject({ purpose: "batch_output" });
    // Each request was admitted by the tenant's rate limiter under the batch creator's key: 10 batch
    // requests beside the two rate-limited API calls (upload, create).
    const snap = await limiter(t.tenantId).snapshot(t.keyId);
    expect(snap.keyLastMinute).toBe(10 + 2);
    const task = await (await call("/v1/batches", { headers: t.headers })).json<{ data: { id: string }[] }>();
    expect(task.data.map((b) => b.id)).toEqual([batch.id]);
  });

  it("request_counts move request by request while the batch runs, not only when a part of 50 ends", async () => {
    const t = await newTenant();
    const lines = [line("fast-1", withDirective("q1", { text: "a" })), line("fast-2", withDirective("q2", { text: "b" })), line("slow", withDirective("q3", { text: "c", delayMs: 5000 }))]; // within the answer timeout (6 s in tests)
    const input = await uploaded(t.headers, "in.jsonl", lines.join("\n") + "\n", "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    const running = await waitFor(t.headers, `/v1/batches/${batch.id}`, (b) => b.status === "in_progress" && b.request_counts.completed === 2, 4_500);
    expect(running.request_counts).toEqual({ total: 3, completed: 2, failed: 0 });
    // The list and a cancel's answer show the same counts as GET (they showed only the finished parts': 0).
    const listed = (await (await call("/v1/batches", { headers: t.headers })).json<{ data: Record<string, any>[] }>()).data;
    expect(listed.find((b) => b.id === batch.id)!.request_counts).toEqual({ total: 3, completed: 2, failed: 0 });
    const cancel = await (await call(`/v1/batches/${batch.id}/cancel`, { method: "POST", headers: t.headers })).json<Record<string, any>>();
    expect(cancel).toMatchObject({ status: "cancelling", request_counts: { total: 3, completed: 2, failed: 0 } });
    // The request in flight when the cancel came is answered and kept, as OpenAI keeps a cancelled batch's output.
    expect(await waitFor(t.headers, `/v1/batches/${batch.id}`, settled)).toMatchObject({ status: "cancelled", request_counts: { total: 3, completed: 3, failed: 0 } });
  });

  it("shows expired_at only once the batch has expired, not while it still runs its other parts", async () => {
    const times = { inProgressAt: null, finalizingAt: null, completedAt: null, failedAt: null, cancellingAt: null, cancelledAt: null, expiresAt: null };
    const row = { id: "batch_x", errors: null, metadata: null, total: 1, completed: 0, failed: 0, createdAt: 1_699_999_000_000, expiredAt: 1_700_000_000_000, ...times } as unknown as BatchRow;
    expect(toBatchObject({ ...row, status: "in_progress" }).expired_at).toBeNull();
    expect(toBatchObject({ ...row, status: "expired" }).expired_at).toBe(1_700_000_000);
  });

  it("session_id reaches a session only through /v1/chat/completions (its scope): a batch line or a task request with it is refused", async () => {
    const t = await newTenant({}, { scopes: ["files", "tasks"] });
    const body = { model: "mock-model", session_id: "sess_someone", messages: [{ role: "user", content: "hi" }] };
    const input = await uploaded(t.headers, "in.jsonl", JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/chat/completions", body }) + "\n", "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done).toMatchObject({ status: "failed", errors: { data: [{ param: "body.session_id" }] } });
    const task = await call("/v1/tasks", { method: "POST", headers: t.headers, body: JSON.stringify({ type: "chat_completion", params: { request: body } }) });
    expect(task.status).toBe(400);
    expect(await task.json()).toMatchObject({ error: { param: expect.stringContaining("session_id") } });
  });

  it("metadata holds at most 16 pairs, as OpenAI's", async () => {
    const t = await newTenant();
    const input = await uploaded(t.headers, "in.jsonl", line("a", "q") + "\n", "batch");
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    const res = await call("/v1/batches", { method: "POST", headers: t.headers, body: JSON.stringify({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: "metadata" } });
  });

  it("the input file of a batch that has not ended cannot be deleted (409 file_in_use); once it ended, it can", async () => {
    const t = await newTenant();
    const input = await uploaded(t.headers, "in.jsonl", line("slow", withDirective("q", { text: "a", delayMs: 1500 })) + "\n", "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    const early = await call(`/v1/files/${input.id}`, { method: "DELETE", headers: t.headers });
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({ error: { code: "file_in_use" } });
    expect(await waitFor(t.headers, `/v1/batches/${batch.id}`, settled)).toMatchObject({ status: "completed", request_counts: { completed: 1 } });
    expect((await call(`/v1/files/${input.id}`, { method: "DELETE", headers: t.headers })).status).toBe(200);
  });

  it("output_expires_after: the output and error files expire that long after they are written", async () => {
    const t = await newTenant();
    const input = await uploaded(t.headers, "in.jsonl", [line("ok", withDirective("q", { text: "a" })), line("bad", withDirective("q", { status: 400 }))].join("\n") + "\n", "batch");
    const body = { input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h", output_expires_after: { anchor: "created_at", seconds: 7200 } };
    const res = await call("/v1/batches", { method: "POST", headers: t.headers, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const done = await waitFor(t.headers, `/v1/batches/${(await res.json<{ id: string }>()).id}`, settled);
    for (const id of [done.output_file_id, done.error_file_id]) {
      const f = await (await call(`/v1/files/${id}`, { headers: t.headers })).json<{ created_at: number; expires_at: number }>();
      expect(f.expires_at - f.created_at).toBeGreaterThanOrEqual(7199);
      expect(f.expires_at - f.created_at).toBeLessThanOrEqual(7201);
    }
    expect(await (await call(`/v1/files/${input.id}`, { headers: t.headers })).json()).toMatchObject({ expires_at: null });
    // The batch's task serves the output file as its result: once that expires, the result is gone too.
    const task = await taskOf(t.headers, done.id);
    expect((await call(`/v1/tasks/${task.id}/result`, { headers: t.headers })).status).toBe(200);
    await (env as unknown as GatewayEnv).DB.prepare("UPDATE files SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, done.output_file_id).run();
    const gone = await call(`/v1/tasks/${task.id}/result`, { headers: t.headers });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: "file_not_found" } });
    const bad = await call("/v1/batches", { method: "POST", headers: t.headers, body: JSON.stringify({ ...body, output_expires_after: { anchor: "created_at", seconds: 10 } }) });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("output_expires_after");
  });

  it("fails a batch whose input has invalid lines, naming them", async () => {
    const t = await newTenant();
    const invalid = JSON.stringify({ custom_id: "c", method: "GET", url: "/v1/chat/completions", body: {} });
    const input = await uploaded(t.headers, "in.jsonl", [line("a", "x"), "not json", line("a", "dup"), invalid, line("e", "x", "other-model")].join("\n"), "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done.status).toBe("failed");
    expect(done.errors.data.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [2, "invalid_json_line"],
      [3, "duplicate_custom_id"],
      [4, "invalid_request"],
      // One model a batch, as OpenAI's Batch API requires.
      [5, "mixed_models"],
    ]);
    expect(done.output_file_id).toBeNull();
  });

  it("fails the requests of a tenant whose daily token budget is spent, in the error file", async () => {
    const t = await newTenant({ daily_token_budget: 10 });
    const input = await uploaded(t.headers, "in.jsonl", [line("a", "x"), line("b", "y")].join("\n"), "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    // The budget is spent before the batch's requests run (the queue delivers a second later at the earliest).
    await limiter(t.tenantId).settle(null, { tenantId: t.tenantId, model: "mock-model", usage: { prompt_tokens: 6, completion_tokens: 6, total_tokens: 12 } });
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done.request_counts).toEqual({ total: 2, completed: 0, failed: 2 });
    const errors = await jsonl(t.headers, done.error_file_id);
    expect(errors.map((e) => e.error.code)).toEqual(["budget_exceeded", "budget_exceeded"]);
  });

  it("ends expired when the completion window closes first: requests left unrun are in the error file as batch_expired", async () => {
    const t = await newTenant();
    const input = await uploaded(t.headers, "in.jsonl", [line("a", "x"), line("b", "y"), line("c", "z")].join("\n"), "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string; expires_at: number }>();
    expect(batch.expires_at).toBeGreaterThan(Date.now() / 1000 + 23 * 3600);
    // The window closes before the queue delivers (a second later at the earliest).
    await (env as unknown as GatewayEnv).DB.prepare("UPDATE batches SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, batch.id).run();
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done).toMatchObject({ status: "expired", request_counts: { total: 3, completed: 0, failed: 3 }, output_file_id: null, completed_at: null });
    expect(done.expired_at).toBeGreaterThan(0);
    const errors = await jsonl(t.headers, done.error_file_id);
    expect(errors.map((e) => [e.custom_id, e.error.code]).sort()).toEqual([["a", "batch_expired"], ["b", "batch_expired"], ["c", "batch_expired"]]);
    // Nothing ran: only the upload and the create went through the rate limiter.
    expect((await limiter(t.tenantId).snapshot(t.keyId)).keyLastMinute).toBe(2);
    // The batch's task does not report success for a batch that never ran.
    expect(await taskOf(t.headers, batch.id)).toMatchObject({ status: "failed", error: { code: "batch_expired" } });
  });

  it("cancels a running batch: parts not started never run, and the batch ends cancelled with its partial output", async () => {
    const t = await newTenant();
    const lines = Array.from({ length: 24 }, (_, i) => line(`r${i}`, withDirective(`q${i}`, { delayMs: 300 })));
    const input = await uploaded(t.headers, "in.jsonl", lines.join("\n"), "batch");
    const batch = await (await create(t.headers, input.id)).json<{ id: string }>();
    await waitFor(t.headers, `/v1/batches/${batch.id}`, (b: Record<string, any>) => b.status !== "validating");
    const cancel = await call(`/v1/batches/${batch.id}/cancel`, { method: "POST", headers: t.headers });
    expect(cancel.status).toBe(200);
    expect(["cancelling", "cancelled"]).toContain((await cancel.json<{ status: string }>()).status);
    const done = await waitFor(t.headers, `/v1/batches/${batch.id}`, settled);
    expect(done.status).toBe("cancelled");
    expect(done.request_counts.total).toBe(24);
    expect(done.request_counts.completed).toBeLessThan(24);
    expect(await taskOf(t.headers, batch.id)).toMatchObject({ status: "cancelled", error: null });
    expect((await call(`/v1/batches/${batch.id}/cancel`, { method: "POST", headers: t.headers })).status).toBe(200);
  });

  it("validates the request and keeps tenants apart", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const analysis = await uploaded(a.headers, "x.csv", "a\n1\n");
    const bad = await call("/v1/batches", { method: "POST", headers: a.headers, body: JSON.stringify({ input_file_id: analysis.id, endpoint: "/v1/embeddings", completion_window: "24h" }) });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ error: { param: string } }>()).error.param).toBe("endpoint");
    expect((await create(a.headers, analysis.id)).status).toBe(400);
    const input = await uploaded(a.headers, "in.jsonl", line("a", "x"), "batch");
    expect((await create(b.headers, input.id)).status).toBe(400);
    const batch = await (await create(a.headers, input.id)).json<{ id: string }>();
    expect((await call(`/v1/batches/${batch.id}`, { headers: b.headers })).status).toBe(404);
    expect((await call(`/v1/batches/${batch.id}/cancel`, { method: "POST", headers: b.headers })).status).toBe(404);
    await waitFor(a.headers, `/v1/batches/${batch.id}`, settled);
  });
});
