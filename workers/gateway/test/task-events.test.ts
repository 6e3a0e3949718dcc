import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { uploaded, waitFor } from "../../../test/support/heavy.js";
import { SessionClient, type Frame } from "../../orchestrator/test/session-client.js";
import flux from "../../../test/support/ai-mock/flux-1-schnell.json";

async function session(t: TenantFixture): Promise<{ id: string; client: SessionClient }> {
  const res = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({ title: "work", model: "mock-model" }) });
  const { id } = (await res.json()) as { id: string };
  const client = SessionClient.from(await call(`/v1/sessions/${id}/ws`, { headers: { authorization: t.headers.authorization!, upgrade: "websocket" } }));
  await client.waitFor((f) => f.type === "ready");
  // A socket receives the session's events once it says where to start (here: from the beginning).
  client.send({ type: "resume", after_seq: 0 });
  return { id, client };
}

const csv = "n,group\n" + Array.from({ length: 60_000 }, (_, i) => `${i},g${i % 7}`).join("\n") + "\n";
const taskFrames = (c: SessionClient, id: string) => c.frames.filter((f: Frame) => f.type === "task" && f.task_id === id);

describe("task events on the session", { timeout: 90_000 }, () => {
  it("streams a task's progress (percentage, ETA) and its result to the session's WebSocket", async () => {
    const t = await newTenant();
    const s = await session(t);
    const file = await uploaded(t.headers, "numbers.csv", csv);
    const res = await call("/v1/tasks", { method: "POST", headers: t.headers, body: JSON.stringify({ type: "file_analysis", params: { file_id: file.id }, session_id: s.id }) });
    const { id } = (await res.json()) as { id: string };
    const done = await s.client.waitFor((f) => f.type === "task" && f.task_id === id && f.status === "succeeded", 60_000);
    expect(done).toMatchObject({ task_type: "file_analysis", progress: 1, eta_s: 0, result_url: `/v1/tasks/${id}/result` });
    expect(String(done.summary)).toContain("numbers.csv: 60000 rows");
    const frames = taskFrames(s.client, id);
    expect(frames[0]).toMatchObject({ status: "queued", progress: 0 });
    const running = frames.filter((f) => f.status === "running");
    expect(running.length).toBeGreaterThan(1);
    const progress = running.map((f) => f.progress as number);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
    expect(running.some((f) => typeof f.eta_s === "number")).toBe(true);
    // Events are the session's: each carries its seq, in order.
    const seqs = frames.map((f) => f.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const polled = await waitFor(t.headers, `/v1/tasks/${id}`, (b) => b.status === "succeeded");
    expect(polled.progress).toBe(1);
    s.client.close();
  });

  it("runs an image task on Workers AI: the session hears it finish and its result is the picture", async () => {
    const t = await newTenant();
    const s = await session(t);
    const res = await call("/v1/tasks", { method: "POST", headers: t.headers, body: JSON.stringify({ type: "image_generation", params: { prompt: "a lighthouse at dusk" }, session_id: s.id }) });
    expect(res.status).toBe(202);
    const task = (await res.json()) as { id: string };
    expect(task).toMatchObject({ object: "task", type: "image_generation", status: "queued" });
    const done = await s.client.waitFor((f) => f.type === "task" && f.task_id === task.id && f.status === "succeeded", 60_000);
    expect(done).toMatchObject({ task_type: "image_generation", progress: 1, result_url: `/v1/tasks/${task.id}/result` });
    expect(String(done.summary)).toMatch(/^JPEG image \(\d+ bytes\) from @cf\/black-forest-labs\/flux-1-schnell for "a lighthouse at dusk"$/);
    expect(taskFrames(s.client, task.id)[0]).toMatchObject({ status: "queued" });
    const polled = await waitFor(t.headers, `/v1/tasks/${task.id}`, (b) => b.status === "succeeded");
    expect(polled).toMatchObject({ type: "image_generation", attempts: 1, error: null, result_url: done.result_url });
    const picture = await call(String(done.result_url), { headers: t.headers });
    expect(picture.status).toBe(200);
    expect(picture.headers.get("content-type")).toBe("image/jpeg");
    expect(new Uint8Array(await picture.arrayBuffer())).toEqual(Uint8Array.from(atob(flux.image), (c) => c.charCodeAt(0)));
    s.client.close();
  });

  it("reports a cancellation on the session", async () => {
    const t = await newTenant();
    const s = await session(t);
    const res = await call("/v1/tasks", { method: "POST", headers: t.headers, body: JSON.stringify({ type: "chat_completion", params: { request: { model: "mock-model", messages: [{ role: "user", content: "x" }] } }, session_id: s.id }) });
    const { id } = (await res.json()) as { id: string };
    await call(`/v1/tasks/${id}/cancel`, { method: "POST", headers: t.headers });
    await s.client.waitFor((f) => f.type === "task" && f.task_id === id && f.status === "cancelled");
    s.client.close();
  });

  it("never delivers a task's events to another tenant's session: naming that session is refused like an unknown one", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const sa = await session(a);
    const file = await uploaded(b.headers, "b.csv", "x\n1\n");
    for (const sessionId of [sa.id, "sess_nope"]) {
      const res = await call("/v1/tasks", { method: "POST", headers: b.headers, body: JSON.stringify({ type: "file_analysis", params: { file_id: file.id }, session_id: sessionId }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { param: "session_id", code: "session_not_found", message: `No session with id '${sessionId}'.` } });
    }
    // Nothing was queued for B, and A's session heard nothing.
    const queued = await (env as unknown as { DB: D1Database }).DB.prepare("SELECT count(*) AS n FROM tasks WHERE tenant_id = ?").bind(b.tenantId).first<{ n: number }>();
    expect(queued!.n).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(sa.client.frames.filter((f) => f.type === "task")).toEqual([]);
    sa.client.close();
  });
});
