/**
 * The model's task when the tool writes SQL: the runner's dialect, the schema it may show, its named
 * queries, and a strict answer format. The runner's policy is the real guard; the prompt only avoids
 * round trips that policy would refuse.
 */
import type { RunnerStatus } from "../../../../../lib/protocol/runner-hub.js";
import type { ChatMessage } from "../../../../../lib/protocol/index.js";

const DIALECT: Record<string, string> = {
  postgres: "PostgreSQL (placeholders $1, $2 …)",
  mysql: "MySQL (placeholders ?)",
  mariadb: "MariaDB (placeholders ?)",
  sqlite: "SQLite (placeholders ?)",
  mssql: "SQL Server / T-SQL (placeholders @p1, @p2 …)",
};

export function sqlPrompt(r: RunnerStatus, question: string, maxTables: number, today = new Date()): ChatMessage[] {
  const tables = r.schema.tables.slice(0, maxTables).map((t) => {
    const cols = t.columns.map((c) => `${c.name} ${c.type}${c.masked ? " (masked)" : ""}`).join(", ");
    return `- ${t.schema ? `${t.schema}.` : ""}${t.name}(${cols})`;
  });
  const more = r.schema.tables.length > maxTables ? [`- … and ${r.schema.tables.length - maxTables} more tables: ${r.schema.tables.slice(maxTables).map((t) => t.name).join(", ")}`] : [];
  const named = r.namedQueries.map((q) => `- ${q.name}(${q.params.join(", ")})${q.description ? `: ${q.description}` : ""}`);
  const system = [
    `You write one read-only SQL query for a ${DIALECT[r.dbKind ?? ""] ?? "SQL"} database. Today is ${today.toISOString().slice(0, 10)}.`,
    r.namedOnly ? "This database accepts only its named queries, never ad-hoc SQL." : "Write exactly one SELECT (WITH … SELECT is fine); no writes, no locking, no comments.",
    "Tables you may read:",
    ...(tables.length ? tables : ["(none reported)"]),
    ...more,
    ...(named.length ? ["Named queries (prefer one when it fits):", ...named] : []),
    'Answer with JSON only: {"sql": "…"} or {"named": "<name>", "params": {"<param>": <value>}}. If the question cannot be answered from these tables, answer {"error": "<why>"}.',
  ].join("\n");
  return [
    { role: "system", content: system },
    { role: "user", content: question },
  ] as ChatMessage[];
}
