/**
 * The README's configuration table is the one place an operator learns what can be set. Every Worker's
 * settings schema is read here: each variable must have a row, and the row must give the schema's default.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { HubSettingsSchema } from "../../durable-objects/runner-hub/settings.js";
import { LimiterSettingsSchema } from "../../durable-objects/rate-limiter/flush.js";
import { CouncilSettingsSchema } from "../../durable-objects/council/settings.js";
import { SessionSettingsSchema } from "../../durable-objects/session/settings.js";
import { HeavySettingsSchema } from "../../queues/heavy/src/settings.js";
import { GatewaySettingsSchema } from "../../workers/gateway/src/settings.js";
import { OrchestratorSettingsSchema } from "../../workers/orchestrator/src/settings.js";
import { SqlToolSettingsSchema } from "../../workers/orchestrator/src/tools/sql/settings.js";
import readme from "../../README.md?raw";

const SCHEMAS: Record<string, z.ZodObject> = {
  gateway: GatewaySettingsSchema,
  orchestrator: OrchestratorSettingsSchema,
  "sql tool": SqlToolSettingsSchema,
  council: CouncilSettingsSchema,
  session: SessionSettingsSchema,
  "runner hub": HubSettingsSchema,
  "rate limiter": LimiterSettingsSchema,
  heavy: HeavySettingsSchema,
};

/** `| \`A\`, \`B\` | 1, 2 | meaning |` rows of the table under "| variable | default | meaning |": default per name. */
function readmeDefaults(): Map<string, string> {
  const start = readme.indexOf("| variable | default | meaning |");
  expect(start, "the README has a configuration table").toBeGreaterThan(0);
  const rows = readme.slice(start).split("\n\n")[0]!.split("\n").slice(2);
  const out = new Map<string, string>();
  for (const row of rows) {
    const [names = "", defaults = ""] = row.split("|").slice(1).map((c) => c.trim());
    const vars = [...names.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const parts = defaults.split(", ");
    vars.forEach((v, i) => out.set(v, vars.length > 1 && parts.length === vars.length ? parts[i]! : defaults));
  }
  return out;
}

/** Every variable with the default each schema gives it (a schema's default is what parsing nothing yields). */
function schemaDefaults(): Map<string, { worker: string; value: unknown }[]> {
  const out = new Map<string, { worker: string; value: unknown }[]>();
  for (const [worker, schema] of Object.entries(SCHEMAS)) {
    const defaults = schema.parse({}) as Record<string, unknown>;
    for (const key of Object.keys(schema.shape)) out.set(key, [...(out.get(key) ?? []), { worker, value: defaults[key] }]);
  }
  return out;
}

describe("README configuration table", () => {
  const documented = readmeDefaults();
  const variables = schemaDefaults();

  it("has a row for every variable a Worker reads", () => {
    const missing = [...variables.keys()].filter((v) => !documented.has(v));
    expect(missing).toEqual([]);
  });

  it("gives each variable the default its schema has", () => {
    const wrong: string[] = [];
    for (const [v, uses] of variables) {
      const value = uses[0]!.value;
      // Numbers and short strings are compared; a long text (the system prompt) is described instead.
      if (typeof value !== "number" && !(typeof value === "string" && value && value.length <= 80)) continue;
      const cell = documented.get(v);
      if (cell !== undefined && !new RegExp(`(^|[\\s\`(])${String(value).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[\\s\`),])`).test(cell)) {
        wrong.push(`${v}: README "${cell}", code ${value}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  // `NAME=` in .env reaches the Workers as "" (a deployment can hold an empty var too): coerced, "" was 0,
  // which several settings read as "off" (CIO_TASK_RETENTION_S, CIO_KEY_CACHE_TTL_S, CIO_SLOT_WAIT_MS).
  it("gives a variable set to nothing the same default as an unset one", () => {
    const differ: string[] = [];
    for (const [worker, schema] of Object.entries(SCHEMAS)) {
      const defaults = schema.parse({}) as Record<string, unknown>;
      for (const key of Object.keys(schema.shape)) {
        for (const empty of ["", "  "]) {
          const parsed = schema.safeParse({ [key]: empty });
          const value = parsed.success ? (parsed.data as Record<string, unknown>)[key] : "refused";
          if (JSON.stringify(value) !== JSON.stringify(defaults[key])) differ.push(`${worker} ${key}=${JSON.stringify(empty)}: ${JSON.stringify(value)}, default ${JSON.stringify(defaults[key])}`);
        }
      }
    }
    expect(differ).toEqual([]);
  });

  it("gives a variable read by several Workers one default (they share one env)", () => {
    const split = [...variables].filter(([, uses]) => new Set(uses.map((u) => JSON.stringify(u.value))).size > 1);
    expect(split.map(([v, uses]) => `${v}: ${uses.map((u) => `${u.worker} ${JSON.stringify(u.value)}`).join(", ")}`)).toEqual([]);
  });
});
