import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepExpiredFiles } from "../../../lib/heavy/file-expiry.js";
import { failLostTasks } from "../../../lib/heavy/lost-tasks.js";
import { sweepOldTasks } from "../../../lib/heavy/task-retention.js";
import { newFileId, r2Keys } from "../../../lib/heavy/ids.js";
import { Logger } from "../../../lib/log.js";
import { HOUSEKEEPING_CRON } from "../src/crons.js";
import Orchestrator from "../src/index.js";
import type { OrchestratorEnv } from "../src/env.js";
import { newTenant } from "./agent/helpers.js";
import { newSession } from "./session-fixtures.js";

const e = env as unknown as OrchestratorEnv;
const log = new Logger({ component: "test" });

async function putFile(tenantId: string, expiresAt: number | null) {
  const id = newFileId();
  const key = r2Keys.file(tenantId, id);
  await e.FILES.put(key, "a\n1\n");
  await e.DB.prepare("INSERT INTO files (id, tenant_id, filename, purpose, bytes, r2_key, expires_at) VALUES (?, ?, 'f.csv', 'analysis', 4, ?, ?)").bind(id, tenantId, key, expiresAt).run();
  return { id, key };
}
const exists = async (f: { id: string; key: string }) => ({
  row: !!(await e.DB.prepare("SELECT 1 FROM files WHERE id = ?").bind(f.id).first()),
  content: !!(await e.FILES.head(f.key)),
});

const DAY = 86_400_000;
async function task(tenantId: string, status: string, updatedAt: number, type = "file_analysis", sessionId: string | null = null) {
  const id = `task_${crypto.randomUUID().replace(/-/g, "")}`;
  await e.DB.prepare("INSERT INTO tasks (id, tenant_id, type, status, params, session_id, request_id, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, 'r', ?, ?)")
    .bind(id, tenantId, type, status, sessionId, updatedAt, updatedAt)
    .run();
  return id;
}
const taskRow = (id: string) => e.DB.prepare("SELECT status, error FROM tasks WHERE id = ?").bind(id).first<{ status: string; error: string | null }>();

async function runHousekeeping() {
  const ec = createExecutionContext();
  await new Orchestrator(ec, env as never).scheduled(createScheduledController({ cron: HOUSEKEEPING_CRON, scheduledTime: Date.now() }));
  await waitOnExecutionContext(ec);
}

describe("the sweep of expired files", () => {
  it("its hourly cron deletes expired files' content and rows, and keeps files not yet expired or with no expiry", async () => {
    const t = await newTenant();
    const expired = [await putFile(t, Date.now() - 60_000), await putFile(t, Date.now() - 1)];
    const later = await putFile(t, Date.now() + 3_600_000);
    const forever = await putFile(t, null);
    await runHousekeeping();
    for (const f of expired) expect(await exists(f)).toEqual({ row: false, content: false });
    for (const f of [later, forever]) expect(await exists(f)).toEqual({ row: true, content: true });
  });

  it("keeps an expired file that accepted work still reads (a batch's input, an analysis task's file) until that work ends", async () => {
    const t = await newTenant();
    const input = await putFile(t, Date.now() - 1);
    const analysed = await putFile(t, Date.now() - 1);
    const batchId = `batch_${crypto.randomUUID().replace(/-/g, "")}`;
    await e.DB.prepare("INSERT INTO batches (id, tenant_id, task_id, key_id, limits, input_file_id, endpoint, completion_window, status, expires_at) VALUES (?, ?, 'task-b', 'k', '{}', ?, '/v1/chat/completions', '24h', 'in_progress', ?)")
      .bind(batchId, t, input.id, Date.now() + 86_400_000)
      .run();
    const taskId = `task_${crypto.randomUUID().replace(/-/g, "")}`;
    await e.DB.prepare("INSERT INTO tasks (id, tenant_id, type, status, params, request_id) VALUES (?, ?, 'file_analysis', 'running', ?, 'r')").bind(taskId, t, JSON.stringify({ file_id: analysed.id })).run();
    await sweepExpiredFiles(e, log, 1000);
    for (const f of [input, analysed]) expect(await exists(f)).toEqual({ row: true, content: true });
    await e.DB.prepare("UPDATE batches SET status = 'completed' WHERE id = ?").bind(batchId).run();
    await e.DB.prepare("UPDATE tasks SET status = 'succeeded' WHERE id = ?").bind(taskId).run();
    await sweepExpiredFiles(e, log, 1000);
    for (const f of [input, analysed]) expect(await exists(f)).toEqual({ row: false, content: false });
  });

  it("stops at its maximum per run, oldest expiry first; the next run takes the rest", async () => {
    const t = await newTenant();
    const files = [];
    for (let i = 0; i < 5; i++) files.push(await putFile(t, 1000 + i));
    expect(await sweepExpiredFiles(e, log, 3)).toBe(3);
    expect((await Promise.all(files.slice(0, 3).map(exists))).every((x) => !x.row && !x.content)).toBe(true);
    await sweepExpiredFiles(e, log, 1000);
    expect((await Promise.all(files.map(exists))).every((x) => !x.row && !x.content)).toBe(true);
  });
});

describe("lost tasks", () => {

  it("a task queued and untouched past CIO_TASK_LOST_AFTER_S (4 days) is failed as task_lost, its session told; newer ones are left", async () => {
    const s = await newSession();
    const lost = await task(s.tenantId, "queued", Date.now() - 5 * DAY, "file_analysis", s.sessionId);
    const waiting = await task(s.tenantId, "queued", Date.now() - 13 * 3_600_000);
    const running = await task(s.tenantId, "running", Date.now() - 3 * DAY);
    const batchTask = await task(s.tenantId, "queued", Date.now() - 5 * DAY, "batch");
    const batchId = `batch_${crypto.randomUUID().replace(/-/g, "")}`;
    await e.DB.prepare("INSERT INTO batches (id, tenant_id, task_id, key_id, limits, input_file_id, endpoint, completion_window, expires_at) VALUES (?, ?, ?, 'k', '{}', 'file-x', '/v1/chat/completions', '24h', ?)")
      .bind(batchId, s.tenantId, batchTask, Date.now() + DAY)
      .run();
    await runHousekeeping();
    expect(await taskRow(lost)).toMatchObject({ status: "failed" });
    expect(JSON.parse((await taskRow(lost))!.error!)).toMatchObject({ code: "task_lost" });
    expect(await taskRow(waiting)).toMatchObject({ status: "queued" });
    expect(await taskRow(running)).toMatchObject({ status: "running" });
    expect(await taskRow(batchTask)).toMatchObject({ status: "failed" });
    const batch = await e.DB.prepare("SELECT status, errors FROM batches WHERE id = ?").bind(batchId).first<{ status: string; errors: string }>();
    expect(batch!.status).toBe("failed");
    expect(JSON.parse(batch!.errors)).toEqual([expect.objectContaining({ code: "task_lost" })]);
    const log = await runInDurableObject(s.stub, (_o: unknown, state) => state.storage.sql.exec<{ data: string }>("SELECT data FROM events").toArray().map((r) => JSON.parse(r.data)));
    expect(log).toEqual([expect.objectContaining({ type: "task", task_id: lost, status: "failed" })]);
  });

  it("a task running and untouched past CIO_TASK_LOST_AFTER_S (its dead letter dropped) is failed as task_lost with its last error; a stalled batch's task is resumed", async () => {
    const s = await newSession();
    const stopped = await task(s.tenantId, "running", Date.now() - 5 * DAY, "chat_completion", s.sessionId);
    await e.DB.prepare("UPDATE tasks SET error = ? WHERE id = ?").bind(JSON.stringify({ code: "attempt_failed", message: "D1_ERROR: overloaded" }), stopped).run();
    const silent = await task(s.tenantId, "running", Date.now() - 5 * DAY, "file_analysis");
    const batchTask = await task(s.tenantId, "running", Date.now() - 5 * DAY, "batch");
    const recentBatch = await task(s.tenantId, "running", Date.now() - DAY, "batch");
    const sent: unknown[] = [];
    const queue = { sendBatch: async (ms: { body: unknown }[]) => void sent.push(...ms.map((m) => m.body)) };
    expect(await failLostTasks({ ...e, HEAVY_QUEUE: queue as never }, log, 4 * DAY)).toBe(2);
    expect(await taskRow(stopped)).toMatchObject({ status: "failed" });
    expect(JSON.parse((await taskRow(stopped))!.error!)).toEqual({ code: "task_lost", message: expect.stringMatching(/no retry is left.*Last error: D1_ERROR: overloaded$/) });
    expect(JSON.parse((await taskRow(silent))!.error!)).toEqual({ code: "task_lost", message: expect.stringMatching(/Last error: none recorded$/) });
    // The batch's planning message goes out again (queues/heavy/test/batch-resume.test.ts: what it does then), once.
    expect(sent).toEqual([{ kind: "task", taskId: batchTask, tenantId: s.tenantId, requestId: "r" }]);
    expect(await taskRow(batchTask)).toMatchObject({ status: "running" });
    expect(await taskRow(recentBatch)).toMatchObject({ status: "running" });
    await failLostTasks({ ...e, HEAVY_QUEUE: queue as never }, log, 4 * DAY);
    expect(sent).toHaveLength(1);
    const events = await runInDurableObject(s.stub, (_o: unknown, state) => state.storage.sql.exec<{ data: string }>("SELECT data FROM events").toArray().map((r) => JSON.parse(r.data)));
    expect(events).toEqual([expect.objectContaining({ type: "task", task_id: stopped, status: "failed" })]);
  });

  it("a batch left validating under a task already failed as task_lost (a run cut off between its writes) is failed by the next run", async () => {
    const t = await newTenant();
    const taskId = await task(t, "failed", Date.now());
    await e.DB.prepare("UPDATE tasks SET type = 'batch', error = ? WHERE id = ?").bind(JSON.stringify({ code: "task_lost", message: "lost" }), taskId).run();
    const batchId = `batch_${crypto.randomUUID().replace(/-/g, "")}`;
    await e.DB.prepare("INSERT INTO batches (id, tenant_id, task_id, key_id, limits, input_file_id, endpoint, completion_window, expires_at) VALUES (?, ?, ?, 'k', '{}', 'file-x', '/v1/chat/completions', '24h', ?)")
      .bind(batchId, t, taskId, Date.now() + DAY)
      .run();
    await runHousekeeping();
    expect(await e.DB.prepare("SELECT status FROM batches WHERE id = ?").bind(batchId).first()).toEqual({ status: "failed" });
  });
});

describe("tasks past their retention (CIO_TASK_RETENTION_S, 30 days)", () => {
  const keys = (tenantId: string, id: string) => [r2Keys.taskInput(tenantId, id), r2Keys.taskResult(tenantId, id), r2Keys.taskImage(tenantId, id)];
  async function withObjects(tenantId: string, status: string, updatedAt: number, type = "chat_completion") {
    const id = await task(tenantId, status, updatedAt, type);
    for (const key of keys(tenantId, id)) await e.FILES.put(key, "x");
    return id;
  }
  const left = async (tenantId: string, id: string) => ({
    row: !!(await taskRow(id)),
    objects: (await Promise.all(keys(tenantId, id).map((k) => e.FILES.head(k)))).filter(Boolean).length,
  });

  it("its hourly cron deletes tasks that ended over 30 days ago with their input and result, and keeps the rest", async () => {
    const t = await newTenant();
    const old = Date.now() - 31 * DAY;
    const gone = [await withObjects(t, "succeeded", old), await withObjects(t, "failed", old, "image_generation"), await withObjects(t, "cancelled", old, "file_analysis")];
    const kept = [await withObjects(t, "succeeded", Date.now() - 29 * DAY), await withObjects(t, "running", old), await withObjects(t, "queued", old - DAY), await withObjects(t, "succeeded", old, "batch")];
    await runHousekeeping();
    for (const id of gone) expect(await left(t, id), id).toEqual({ row: false, objects: 0 });
    for (const id of kept) expect(await left(t, id), id).toEqual({ row: true, objects: 3 });
  });

  it("stops at its maximum per run, oldest first; the next run takes the rest", async () => {
    const t = await newTenant();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await withObjects(t, "succeeded", 1000 + i));
    expect(await sweepOldTasks(e, log, 30 * DAY, 3)).toBe(3);
    expect(await Promise.all(ids.map((id) => left(t, id)))).toEqual([...Array(3).fill({ row: false, objects: 0 }), { row: true, objects: 3 }]);
    await sweepOldTasks(e, log, 30 * DAY, 1000);
    expect(await left(t, ids[3]!)).toEqual({ row: false, objects: 0 });
  });
});

describe("deleted rows kept as list cursors (CIO_DELETED_CURSOR_TTL_S, a day)", () => {
  it("its hourly cron forgets the rows deleted over a day ago, and keeps the newer ones and the rows its sweeps delete", async () => {
    const t = await newTenant();
    const remembered = (id: string) => e.DB.prepare("SELECT 1 FROM deleted_rows WHERE tenant_id = ? AND id = ?").bind(t, id).first().then(Boolean);
    const insert = e.DB.prepare("INSERT INTO deleted_rows (table_name, tenant_id, id, created_at, deleted_at) VALUES ('files', ?, ?, 1000, ?)");
    await e.DB.batch([insert.bind(t, "file-old", Date.now() - DAY - 60_000), insert.bind(t, "file-new", Date.now() - DAY + 60_000)]);
    const swept = await putFile(t, Date.now() - 1);
    await runHousekeeping();
    expect({ old: await remembered("file-old"), new: await remembered("file-new"), swept: await remembered(swept.id) }).toEqual({ old: false, new: true, swept: true });
  });
});
