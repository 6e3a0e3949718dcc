/** The commented config file `cio-runner init` writes. Every value is JSON-quoted, which is valid YAML. */
import type { DbKind } from "../../../lib/protocol/runner.ts";

export interface TemplateValues {
  cloudUrl: string;
  runnerName: string;
  tokenEnv: string;
  dbKind: DbKind;
  /** Written only if given; otherwise the URL is read from `dbUrlEnv`. */
  dbUrl?: string;
  dbUrlEnv: string;
  dbPath?: string;
  auditLog: string;
}

const q = (s: string) => JSON.stringify(s);

export function configTemplate(v: TemplateValues): string {
  return `# cio-runner configuration. Reference: https://www.npmjs.com/package/cio-runner (README, "Config reference").
# Everything the cloud may do with this database is decided here, on this server.

cloud:
  # Base URL of your CIO Edge gateway; the runner connects out to <url>/v1/runners/connect.
  url: ${q(v.cloudUrl)}
  # The runner token (issued by the admin API) is read from this environment variable.
  # You may instead write \`token: "…"\` here; then keep this file readable by the runner's user only.
  tokenEnv: ${q(v.tokenEnv)}

runner:
  # Runners started with the same name form a pool; the hub spreads queries over them.
  name: ${q(v.runnerName)}

database:
  # postgres | mysql | mariadb | sqlite | mssql
  kind: ${q(v.dbKind)}
${databaseLines(v)}
  # Use a database user that can only read (GRANT SELECT …). Credentials never leave this server.

policy:
  # Upper bounds; the cloud may ask for less, never more.
  maxRows: 10000
  maxBytes: 16777216
  timeoutMs: 30000
  # true: refuse ad-hoc SQL, run only the named queries below.
  namedOnly: false
  # Uncomment to show and allow only these schemas / tables ("schema", "schema.table", "schema.*").
  # allow:
  #   schemas: ["public"]
  #   tables: ["sales.orders", "sales.regions"]
  # Values of these columns leave as "****"; they may not be used in expressions or filters.
  maskColumns: []
  # Queries the cloud may run by name, with positional placeholders filled from \`params\` in order.
  namedQueries: []
  #  - name: sales_by_region
  #    description: "Sales per region for one day"
  #    sql: "SELECT region, sum(amount) AS total FROM sales.orders WHERE day = $1 GROUP BY region"
  #    params: ["day"]
  # Extra functions to refuse, on top of the built-in deny list.
  denyFunctions: []
  # Append-only JSON-lines log of every request and its outcome.
  auditLog: ${q(v.auditLog)}

connection:
  chunkRows: 500      # rows per database fetch
  frameBytes: 524288  # most bytes of rows per frame (fetches are gathered up to it; a wider row goes alone; the hub may lower it)
  credits: 8          # chunks in flight before the hub must ack (the hub may set its own)
  maxConcurrent: 4    # queries at once
  heartbeatMs: 15000
  schemaTimeoutMs: 10000  # hello waits this long for the schema, then goes without it (and again once it is read)
  stopGraceMs: 5000   # on SIGTERM, how long cancelled queries may take to end on the database
  compress: false     # permessage-deflate: less bandwidth, more CPU and memory (worth it on slow links only)
  backoff:            # reconnect delay: random in [0, min(maxMs, initialMs * 2^attempt)]
    initialMs: 500
    maxMs: 30000

log:
  level: "info"       # debug | info | warn | error; JSON lines on stdout
`;
}

function databaseLines(v: TemplateValues): string {
  if (v.dbKind === "sqlite") return `  path: ${q(v.dbPath ?? "/var/lib/app/data.db")}`;
  if (v.dbUrl) return `  url: ${q(v.dbUrl)}\n  # or: urlEnv: ${q(v.dbUrlEnv)}`;
  return `  # The connection URL (with its password) is read from this environment variable.\n  urlEnv: ${q(v.dbUrlEnv)}`;
}
