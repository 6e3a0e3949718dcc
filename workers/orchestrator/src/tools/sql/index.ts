/**
 * The `sql` tool: answers a question from the tenant's own database through its on-prem runner. The model
 * writes one read-only query from the schema the runner reported (or picks a named query); the runner's
 * local policy decides whether it runs. Small results come back inline; large ones are summarised and
 * stored whole in R2.
 */
import { z } from "zod";
import { Logger } from "../../../../../lib/log.js";
import { toolFail, toolOk, type ToolInput, type ToolResult } from "../../../../../lib/protocol/tool.js";
import type { Usage } from "../../../../../lib/protocol/index.js";
import { SqlScalarSchema } from "../../../../../lib/protocol/runner.js";
import type { HubQueryResult, RunnerStatus } from "../../../../../lib/protocol/runner-hub.js";
import type { OrchestratorEnv } from "../../env.js";
import { providerName, selectProvider } from "../../providers/select.js";
import { orchestratorSettings } from "../../settings.js";
import { bookCall } from "../../usage.js";
import { usageOf } from "../../wire.js";
import type { LocalTool } from "../local-tool.js";
import { hubOf, pickRunner } from "./pick-runner.js";
import { matchNamed, parsePlan, type Plan } from "./plan.js";
import { sqlPrompt } from "./prompt.js";
import { numericRanges, storeResult, table } from "./render.js";
import { sqlToolSettings } from "./settings.js";

const ArgsSchema = z.object({
  question: z.string().min(1).max(4000),
  runner: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/).optional(),
  named: z.string().min(1).max(128).optional(),
  params: z.record(z.string(), SqlScalarSchema).optional(),
});
type Args = z.infer<typeof ArgsSchema>;

/** A timed-out query is not among them: its time was the whole budget, and a retry runs it on the database again. */
const RETRYABLE = new Set(["runner_disconnected", "busy"]);

export const sqlTool: LocalTool = {
  // The rows /v1/runners/:name/query would answer.
  scopes: ["runners"],
  manifest: {
    name: "sql",
    description:
      "Answer a question from the customer's own database (sales, orders, customers, inventory…) through their on-prem runner. Give the question in plain words; the tool writes read-only SQL from the database's schema, or runs a named query.",
    parameters: {
      type: "object",
      properties: {
        question: { type: "string", description: "The question, in plain words" },
        runner: { type: "string", description: "Runner name, when the tenant has several databases" },
        named: { type: "string", description: "A named query of the runner, instead of writing SQL" },
        params: { type: "object", description: "Parameters of the named query", additionalProperties: { type: ["string", "number", "boolean", "null"] } },
      },
      required: ["question"],
      additionalProperties: false,
    },
    timeoutMs: 60_000,
    version: "1.0.0",
    examples: ["what were yesterday's sales by region?", "how many orders did we ship last week", "top customers by revenue this month"],
  },
  execute: runSql,
};

async function runSql(env: OrchestratorEnv, input: ToolInput): Promise<ToolResult> {
  const parsed = ArgsSchema.safeParse(input.args);
  if (!parsed.success) return toolFail("bad_arguments", z.prettifyError(parsed.error));
  const args = parsed.data;
  const runner = await pickRunner(env, input.tenantId, args.question, args.runner);
  if (typeof runner === "string") return toolFail("runner_offline", runner, false);
  const plan = args.named ? { named: args.named, params: args.params } : await planQuery(env, input, runner, args);
  if ("error" in plan) return toolFail("no_query", plan.error);
  const s = sqlToolSettings(env);
  const id = `sql_${crypto.randomUUID().replace(/-/g, "")}`;
  const timeoutMs = Math.max(100, Math.min(s.CIO_SQL_TIMEOUT_MS, input.deadline - Date.now() - 500));
  const r = (await hubOf(env, input.tenantId, runner.name).query({ id, requestId: input.requestId, ...plan, maxRows: s.CIO_SQL_MAX_ROWS, timeoutMs })) as HubQueryResult;
  const what = "sql" in plan ? `SQL: ${plan.sql}` : `named query ${plan.named}(${JSON.stringify(plan.params ?? {})})`;
  if (!r.ok) return toolFail(r.error.code, `${r.error.message} (runner ${runner.name}; ${what})`, RETRYABLE.has(r.error.code));
  const head = `Runner ${runner.name} (${runner.dbKind}) ran ${what}\n${r.rowCount} row(s)${r.truncated ? `, truncated by ${r.truncatedBy}` : ""}, ${r.elapsedMs} ms.`;
  const data = { runner: runner.name, ...plan, columns: r.columns, rowCount: r.rowCount, truncated: r.truncated };
  if (r.rowCount <= s.CIO_SQL_INLINE_ROWS) return toolOk(`${head}\n\n${table(r.columns, r.rows)}`, { ...data, rows: r.rows });
  const link = await storeResult(env.FILES, input.tenantId, id, r);
  const ranges = numericRanges(r);
  return toolOk(
    [
      head,
      `The full result is stored: GET ${link} (NDJSON, with the API key). The first ${s.CIO_SQL_INLINE_ROWS} rows:`,
      "",
      table(r.columns, r.rows.slice(0, s.CIO_SQL_INLINE_ROWS)),
      ...(ranges.length ? ["", "Over all rows:", ...ranges.map((x) => `- ${x}`)] : []),
    ].join("\n"),
    { ...data, resultId: id, resultUrl: link, rows: r.rows.slice(0, s.CIO_SQL_INLINE_ROWS) },
  );
}

/** Asks the configured model for the query; without a model, only a named query that matches can run. */
async function planQuery(env: OrchestratorEnv, input: ToolInput, runner: RunnerStatus, args: Args): Promise<Plan> {
  const s = orchestratorSettings(env);
  if (providerName(env, s) === "builtin") {
    const named = matchNamed(args.question, runner.namedQueries);
    if (named) return { named: named.name };
    const list = runner.namedQueries.map((q) => q.name).join(", ") || "none";
    return { error: `no language model is configured to write SQL; pass a named query of runner ${runner.name} (${list})` };
  }
  const log = new Logger({ component: "sql-tool", requestId: input.requestId, tenantId: input.tenantId }, s.CIO_LOG_LEVEL);
  const provider = selectProvider(env, s, log, { manifests: new Map(), quality: () => 1, minScore: Infinity });
  const signal = AbortSignal.timeout(Math.max(1000, input.deadline - Date.now()));
  let text = "";
  let thought = "";
  let usage: Usage | undefined;
  const messages = sqlPrompt(runner, args.question, sqlToolSettings(env).CIO_SQL_SCHEMA_TABLES);
  for await (const e of provider.round({ messages, tools: [], requestId: input.requestId, signal, stream: false, params: { temperature: 0 } })) {
    if (e.type === "text") text += e.delta;
    if (e.type === "reasoning") thought += e.delta;
    if (e.type === "usage") usage = e.usage;
  }
  // The tenant pays for the query's writing like for its chats (the schema in the prompt is most of it): by the
  // upstream's usage when it is sane (the provider drops any other), else by our estimate.
  await bookCall(env, log, "the sql tool's model", input.tenantId, provider.model, usage ?? usageOf(messages.map((m) => m.content).join("\n"), thought + text));
  return parsePlan(text);
}
