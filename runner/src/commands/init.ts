import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { defineCommand } from "citty";
import { DbKindSchema } from "../../../lib/protocol/runner.ts";
import { parseConfig } from "../config/load.ts";
import { configTemplate } from "../config/template.ts";
import { configError } from "../errors.ts";
import { configArg, out } from "./_args.ts";

export default defineCommand({
  meta: { name: "init", description: "Write a commented config file to start from" },
  args: {
    ...configArg,
    "cloud-url": { type: "string", description: "Base URL of your CIO Edge gateway", default: "https://gateway.example.com" },
    name: { type: "string", description: "Runner name (runners with one name form a pool)", default: "default" },
    "token-env": { type: "string", description: "Environment variable holding the runner token", default: "CIO_RUNNER_TOKEN" },
    "db-kind": { type: "string", description: `Database kind: ${DbKindSchema.options.join(" | ")}`, default: "postgres" },
    "db-url": { type: "string", description: "Database URL to write into the file (else read from --db-url-env)" },
    "db-url-env": { type: "string", description: "Environment variable holding the database URL", default: "CIO_RUNNER_DATABASE_URL" },
    "db-path": { type: "string", description: "SQLite database file" },
    "audit-log": { type: "string", description: "Audit log path", default: "/var/log/cio-runner/audit.jsonl" },
    force: { type: "boolean", description: "Overwrite an existing file", default: false },
  },
  run({ args }) {
    const path = resolve(args.config);
    if (existsSync(path) && !args.force) throw configError(`${path} already exists; pass --force to overwrite it`);
    const kind = DbKindSchema.safeParse(args["db-kind"]);
    if (!kind.success) throw configError(`--db-kind must be one of ${DbKindSchema.options.join(", ")}`);
    const text = configTemplate({
      cloudUrl: args["cloud-url"],
      runnerName: args.name,
      tokenEnv: args["token-env"],
      dbKind: kind.data,
      dbUrl: args["db-url"],
      dbUrlEnv: args["db-url-env"],
      dbPath: args["db-path"],
      auditLog: args["audit-log"],
    });
    parseConfig(text, path); // the template must always be a valid config
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600); // the mode above applies only to a new file: --force over a 0644 one kept 0644
    out.print(`Wrote ${path}`);
    out.print(`Next: export ${args["token-env"]}=<runner token>, review the policy section, then run \`cio-runner doctor -c ${args.config}\`.`);
  },
});
