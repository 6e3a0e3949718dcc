/**
 * What the hourly housekeeping deletes by age besides files and tasks: agent continuations past their TTL,
 * tool calls and ratings past CIO_LEARNING_RETENTION_S, and the sql tool's stored results in R2.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deleteOlderRows } from "../../../lib/db/older-rows.js";
import { Logger } from "../../../lib/log.js";
import { queryResultKey } from "../../../lib/protocol/runner-hub.js";
import { HOUSEKEEPING_CRON } from "../src/crons.js";
import Orchestrator from "../src/index.js";
import type { OrchestratorEnv } from "../src/env.js";
import { sweepQueryResults } from "../src/tools/sql/result-retention.js";
import { newTenant } from "./agent/helpers.js";

const e = env as unknown as OrchestratorEnv;
const log = new Logger({ component: "test" });
const DAY = 86_400_000;

async function runHousekeeping(vars: Record<string, string> = {}) {
  const ec = createExecutionContext();
  await new Orchestrator(ec, { ...env, ...vars } as never).scheduled(createScheduledController({ cron: HOUSEKEEPING_CRON, scheduledTime: Date.now() }));
  await waitOnExecutionContext(ec);
}

const continuation = (tenantId: string, callId: string, createdAt: number) =>
  e.DB.prepare("INSERT INTO agent_continuations (tenant_id, key_id, call_id, request_id, client_calls, turn, created_at) VALUES (?, 'k', ?, 'r', '[]', '[]', ?)").bind(tenantId, callId, createdAt).run();
const toolCall = (tenantId: string, requestId: string, createdAt: number) =>
  e.DB.prepare("INSERT INTO tool_calls (tenant_id, request_id, tool_name, latency_ms, ok, created_at) VALUES (?, ?, 'web-search', 5, 1, ?)").bind(tenantId, requestId, createdAt).run();
const rating = (tenantId: string, requestId: string, createdAt: number) =>
  e.DB.prepare("INSERT INTO tool_feedback (tenant_id, request_id, rating, created_at) VALUES (?, ?, 1, ?)").bind(tenantId, requestId, createdAt).run();
const column = async (sql: string, tenantId: string) => (await e.DB.prepare(sql).bind(tenantId).raw<[string]>()).map((r) => r[0]);

describe("the hourly housekeeping deletes by age", () => {
  it("agent continuations past CIO_CONTINUATION_TTL_MS, of a tenant that kept no turn since", async () => {
    const t = await newTenant();
    await continuation(t, "expired", Date.now() - 2 * DAY);
    await continuation(t, "kept", Date.now() - DAY / 2);
    await runHousekeeping();
    expect(await column("SELECT call_id FROM agent_continuations WHERE tenant_id = ?", t)).toEqual(["kept"]);
  });

  it("tool calls and ratings past CIO_LEARNING_RETENTION_S (90 days), and leaves the tools' averages as they were", async () => {
    const t = await newTenant();
    await e.DB.prepare("INSERT INTO tool_stats (tenant_id, tool_name, calls, ratings, rating_ema) VALUES (?, 'web-search', 2, 2, 0.36)").bind(t).run();
    for (const [id, at] of [["old", Date.now() - 91 * DAY], ["recent", Date.now() - 89 * DAY]] as const) {
      await toolCall(t, id, at);
      await rating(t, id, at);
    }
    await runHousekeeping();
    expect(await column("SELECT request_id FROM tool_calls WHERE tenant_id = ?", t)).toEqual(["recent"]);
    expect(await column("SELECT request_id FROM tool_feedback WHERE tenant_id = ?", t)).toEqual(["recent"]);
    expect(await e.DB.prepare("SELECT calls, ratings, rating_ema FROM tool_stats WHERE tenant_id = ?").bind(t).first()).toEqual({ calls: 2, ratings: 2, rating_ema: 0.36 });
  });

  it("old rows of every tenant, up to its maximum per run; the next run takes the rest", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    for (const t of [a, b]) for (let i = 0; i < 3; i++) await toolCall(t, `r${i}`, 1_000 + i);
    await toolCall(a, "new", 20_000);
    // Rows of 1970: no other test's are that old.
    const before = 10_000;
    expect(await deleteOlderRows(e.DB, log, "tool_calls", before, 4)).toBe(4);
    expect(await deleteOlderRows(e.DB, log, "tool_calls", before, 4)).toBe(2);
    expect(await deleteOlderRows(e.DB, log, "tool_calls", before, 4)).toBe(0);
    expect(await column("SELECT request_id FROM tool_calls WHERE tenant_id = ?", a)).toEqual(["new"]);
    expect(await column("SELECT request_id FROM tool_calls WHERE tenant_id = ?", b)).toEqual([]);
  });

  it("stored query results past CIO_QUERY_RESULT_RETENTION_S, by R2's upload time, up to its maximum per run", async () => {
    const t = await newTenant();
    const keys = [];
    for (let i = 0; i < 3; i++) {
      keys.push(queryResultKey(t, `sql_old${i}`));
      await e.FILES.put(keys.at(-1)!, "{}\n");
    }
    await new Promise((ok) => setTimeout(ok, 20));
    const fresh = queryResultKey(t, "sql_new");
    await e.FILES.put(fresh, "{}\n");
    const other = `files/${t}/keep.csv`;
    await e.FILES.put(other, "a\n");
    // The clock is put a day past the old results' retention, so the cut falls between them and the new one.
    const cut = (await e.FILES.head(fresh))!.uploaded.getTime() - 1;
    const now = cut + DAY;
    const exists = async (k: string) => !!(await e.FILES.head(k));
    expect(await sweepQueryResults(e.FILES, log, DAY, 2, now)).toBe(2);
    expect(await sweepQueryResults(e.FILES, log, DAY, 2, now)).toBe(1);
    expect(await Promise.all([...keys, fresh, other].map(exists))).toEqual([false, false, false, true, true]);
  });

  it("stored query results, from the hourly cron, with a retention of a second", async () => {
    const t = await newTenant();
    const old = queryResultKey(t, "sql_cron");
    await e.FILES.put(old, "{}\n");
    await new Promise((ok) => setTimeout(ok, 1_100));
    const fresh = queryResultKey(t, "sql_fresh");
    await e.FILES.put(fresh, "{}\n");
    await runHousekeeping({ CIO_QUERY_RESULT_RETENTION_S: "1" });
    expect([!!(await e.FILES.head(old)), !!(await e.FILES.head(fresh))]).toEqual([false, true]);
  });
});
