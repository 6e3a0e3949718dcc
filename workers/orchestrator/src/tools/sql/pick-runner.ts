/**
 * Which runner pool answers a question: the one named, else the tenant's connected runners ranked by how
 * many words of the question appear in their table and column names (a tenant usually has one).
 */
import { and, eq, isNull } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { runnerHubName, stubFor } from "../../../../../lib/do-names.js";
import type { RunnerStatus } from "../../../../../lib/protocol/runner-hub.js";
import type { OrchestratorEnv } from "../../env.js";

export const hubOf = (env: OrchestratorEnv, tenantId: string, name: string) => stubFor(env.RUNNER_HUBS, runnerHubName(tenantId, name));

export async function pickRunner(env: OrchestratorEnv, tenantId: string, question: string, wanted?: string): Promise<RunnerStatus | string> {
  if (wanted) {
    const s = (await hubOf(env, tenantId, wanted).status(wanted)) as RunnerStatus;
    return s.status === "connected" ? s : `the runner '${wanted}' is not connected`;
  }
  const t = schema.runnerTokens;
  const names = await openDb(env.DB).selectDistinct({ name: t.runnerName }).from(t).where(and(eq(t.tenantId, tenantId), isNull(t.revokedAt)));
  const all = (await Promise.all(names.map((n) => hubOf(env, tenantId, n.name).status(n.name)))) as RunnerStatus[];
  const live = all.filter((s) => s.status === "connected");
  if (!live.length) {
    return names.length ? `no runner is connected (known runners: ${names.map((n) => n.name).join(", ")})` : "this tenant has no runner; issue a runner token and start cio-runner";
  }
  const words = new Set(question.toLowerCase().match(/[a-z0-9_]{3,}/g) ?? []);
  const score = (s: RunnerStatus) =>
    s.schema.tables.reduce((n, tb) => n + [tb.name, ...tb.columns.map((c) => c.name)].filter((x) => words.has(x.toLowerCase())).length, 0);
  return live.sort((a, b) => score(b) - score(a) || a.name.localeCompare(b.name))[0]!;
}
