import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { createBatch } from "../../../lib/heavy/batches.js";
import { findTask } from "../../../lib/heavy/tasks.js";
import { newFileId, r2Keys } from "../../../lib/heavy/ids.js";
import { analyzeFile } from "../src/tools/analyze-file.js";
import { LOCAL_TOOLS } from "../src/tools/local.js";
import { taskRefusal } from "../../../queues/heavy/src/task-standing.js";
import { baseEnv, chat, completionOf, keyOf, newKey, newTenant, OPENAI, scripted } from "./agent/helpers.js";

async function putFile(tenantId: string, purpose: "analysis" | "batch" = "analysis") {
  const id = newFileId();
  const key = r2Keys.file(tenantId, id);
  await baseEnv.FILES.put(key, "a,b\n1,2\n");
  await openDb(baseEnv.DB).insert(schema.files).values({ id, tenantId, filename: "sales.csv", purpose, bytes: 8, r2Key: key });
  return id;
}

/** The session's row in D1's index, as the session object writes it when it is created. */
async function newSession(tenantId: string, id: string) {
  await openDb(baseEnv.DB).insert(schema.sessions).values({ tenantId, id, model: "cio/auto" });
  return id;
}

const input = (tenantId: string, args: Record<string, unknown>) => ({ args, tenantId, requestId: "req-af", deadline: Date.now() + 5000 });

describe("analyze_file (local tool)", () => {
  it("is served by the orchestrator", () => {
    expect(LOCAL_TOOLS.map((t) => t.manifest.name)).toContain("analyze_file");
    expect(analyzeFile.manifest.parameters).toMatchObject({ type: "object", required: ["file_id"] });
  });

  it("queues a file_analysis task for the session and answers with its id at once", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    await newSession(tenant, "sess-1");
    const r = await analyzeFile.execute(baseEnv, input(tenant, { file_id: file, group_by: "a", session_id: "sess-1" }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { task_id } = r.data as { task_id: string };
    expect(r.content).toContain(`Started analysis task ${task_id}`);
    const row = await findTask(baseEnv.DB, tenant, task_id);
    expect(row).toMatchObject({ type: "file_analysis", status: "queued", sessionId: "sess-1", requestId: "req-af", params: { file_id: file, group_by: "a" } });
  });

  it("refuses another tenant's file, a batch file and bad arguments, queueing nothing", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const foreign = await putFile(other);
    const batch = await putFile(tenant, "batch");
    const results = await Promise.all([
      analyzeFile.execute(baseEnv, input(tenant, { file_id: foreign })),
      analyzeFile.execute(baseEnv, input(tenant, { file_id: batch })),
      analyzeFile.execute(baseEnv, input(tenant, { group_by: "a" })),
    ]);
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["file_not_found", "wrong_purpose", "invalid_arguments"]);
    const rows = await openDb(baseEnv.DB).select().from(schema.tasks).all();
    expect(rows.filter((r) => r.tenantId === tenant)).toEqual([]);
  });

  it("a file store that cannot be read is a retryable failure, not a file that does not exist", async () => {
    const tenant = await newTenant();
    const down = { ...baseEnv, DB: { prepare: () => { throw new Error("D1 unreachable"); } } as unknown as D1Database };
    const r = await analyzeFile.execute(down, input(tenant, { file_id: "file-abc" }));
    expect(r).toMatchObject({ ok: false, error: { code: "storage_unavailable", retryable: true } });
    // Likewise a batch's input file: our failure, not the caller's 400 file_not_found.
    const batch = { tenantId: tenant, keyId: "k", requestId: "r", limits: {}, inputFileId: "file-abc", endpoint: "/v1/chat/completions", completionWindow: "24h" };
    const err = await createBatch(down, batch).then(() => null, (e: unknown) => e);
    expect(String(err)).toMatch(/D1 unreachable/);
  });

  it("is what the brain calls for an analysis request: the answer says the task started and names it", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    const reply = await chat([scripted(`Analyse ${file}`, [{ tool_calls: [{ name: "analyze_file", arguments: { file_id: file } }] }, { echoTools: true }])], { tenantId: tenant, settings: OPENAI });
    const c = completionOf(reply);
    const text = String(c.choices[0]!.message.content);
    const id = /Started analysis task (task_\w+)/.exec(text)?.[1];
    expect(id, text).toBeDefined();
    expect(await findTask(baseEnv.DB, tenant, id!)).toMatchObject({ status: "queued", type: "file_analysis", sessionId: null });
  });

  it("is not offered to a key without the 'tasks' scope, which POST /v1/tasks needs to start one", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    const script = [{ tool_calls: [{ name: "analyze_file", arguments: { file_id: file } }] }, { echoTools: true }];
    const c = completionOf(await chat([scripted(`Analyse ${file}`, script)], { tenantId: tenant, keyId: await newKey(tenant, ["chat"]), settings: OPENAI }));
    expect(c.cio.tools).toEqual([expect.objectContaining({ name: "analyze_file", ok: false, error: expect.objectContaining({ code: "unknown_tool" }) })]);
    const { results } = await baseEnv.DB.prepare("SELECT id FROM tasks WHERE tenant_id = ?").bind(tenant).all();
    expect(results).toEqual([]);
  });

  it("reports to the request's session: the brain hands the tool the session_id, not one the model made up", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    const script = [{ tool_calls: [{ name: "analyze_file", arguments: { file_id: file, session_id: "sess_someone_else" } }] }, { echoTools: true }];
    const reply = await chat([scripted(`Analyse ${file}`, script)], { tenantId: tenant, settings: OPENAI, body: { session_id: await newSession(tenant, "sess_mine") } });
    const id = /Started analysis task (task_\w+)/.exec(String(completionOf(reply).choices[0]!.message.content))?.[1];
    expect(await findTask(baseEnv.DB, tenant, id!)).toMatchObject({ sessionId: "sess_mine" });
  });

  it("queues its task under the chat's API key, as POST /v1/tasks does: revoking the key stops the task", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    const script = [{ tool_calls: [{ name: "analyze_file", arguments: { file_id: file } }] }, { echoTools: true }];
    const reply = await chat([scripted(`Analyse ${file}`, script)], { tenantId: tenant, settings: OPENAI });
    const id = /Started analysis task (task_\w+)/.exec(String(completionOf(reply).choices[0]!.message.content))?.[1];
    const task = (await findTask(baseEnv.DB, tenant, id!))!;
    expect(task.keyId).toBe(keyOf(tenant));
    await baseEnv.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), keyOf(tenant)).run();
    expect(await taskRefusal(baseEnv.DB, task)).toMatchObject({ code: "api_key_revoked" });
  });

  it("refuses a session that does not exist, queueing nothing: its events would create an empty session object", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant);
    const r = await analyzeFile.execute(baseEnv, input(tenant, { file_id: file, session_id: "sess_gone" }));
    expect(r).toMatchObject({ ok: false, error: { code: "session_not_found" } });
    const { results } = await baseEnv.DB.prepare("SELECT id FROM tasks WHERE tenant_id = ?").bind(tenant).all();
    expect(results).toEqual([]);
  });
});
