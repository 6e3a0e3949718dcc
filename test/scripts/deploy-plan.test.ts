/**
 * `npm run deploy` on a fresh account: every Worker must come after the Workers it binds, and every queue,
 * bucket and D1 database it binds must be known, or the first deploy fails part-way. Checked against the
 * real configs, so a binding added later is covered too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { databaseUsers, deployConfigs, deployOrder, readWorker, type DeployedWorker } from "../../scripts/lib/deploy-plan.ts";
import { setDatabaseId } from "../../scripts/lib/deploy-resources.ts";
import { ROOT } from "../../scripts/lib/local-stack.ts";

const workers = deployOrder(deployConfigs().map(readWorker));
const position = (name: string) => workers.findIndex((w) => w.name === name);
const worker = (name: string, needs: string[] = []): DeployedWorker => ({ config: `${name}.toml`, name, needs, queues: [], buckets: [], databases: [] });

describe("npm run deploy's plan", () => {
  it("deploys every Worker of the repository, each after the Workers it binds", () => {
    expect(workers.map((w) => w.config)).toEqual(expect.arrayContaining(["wrangler.toml", "workers/orchestrator/wrangler.toml", "queues/heavy/wrangler.toml"]));
    expect(workers.map((w) => w.config)).not.toContain("test/support/ai-mock/wrangler.toml");
    for (const w of workers) for (const target of w.needs) expect(position(target), `${w.name} binds ${target}`).toBeLessThan(position(w.name));
    // The heavy consumer binds the orchestrator's Durable Objects; the gateway binds both of them.
    expect(position("cio-orchestrator")).toBeLessThan(position("cio-queue-heavy"));
    expect(position("cio-queue-heavy")).toBeLessThan(position("cio-gateway"));
  });

  it("knows the queues, buckets and D1 configs the Workers bind", () => {
    expect(new Set(workers.flatMap((w) => w.queues))).toEqual(new Set(["heavy", "heavy-dlq"]));
    expect(new Set(workers.flatMap((w) => w.buckets))).toEqual(new Set(["cio-files", "cio-media"]));
    const users = databaseUsers(workers).get("cio-edge")!.map((w) => w.config);
    expect(users.sort()).toEqual(["queues/heavy/wrangler.toml", "workers/orchestrator/wrangler.toml", "wrangler.toml"]);
  });

  it("keeps the vars an operator set in the dashboard: every deployed config sets keep_vars", () => {
    // Without it, `wrangler deploy` deletes every plain-text var the config does not list.
    for (const config of deployConfigs()) expect(unstable_readConfig({ config: join(ROOT, config) }).keep_vars, config).toBe(true);
  });

  it("names a cycle of bindings instead of deploying in an order that cannot work", () => {
    const cycle = [worker("a", ["b"]), worker("b", ["c"]), worker("c", ["a"])];
    expect(() => deployOrder(cycle)).toThrow("a → b → c → a");
  });

  it("puts each Worker after its targets, and ignores targets deployed from elsewhere", () => {
    const order = deployOrder([worker("gw", ["brain", "external"]), worker("tool"), worker("brain", ["tool"])]);
    expect(order.map((w) => w.name)).toEqual(["tool", "brain", "gw"]);
  });
});

describe("setDatabaseId", () => {
  it("rewrites only the database_id of the named D1 database", () => {
    const toml = readFileSync(join(ROOT, "queues/heavy/wrangler.toml"), "utf8");
    const id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    const [before] = toml.match(/^database_id = ".*"$/m)!;
    const out = setDatabaseId(toml, "cio-edge", id);
    expect(out).toBe(toml.replace(before, `database_id = "${id}"`));
    expect(setDatabaseId(toml, "other-db", id)).toBe(toml);
  });

  it("leaves other tables' keys alone", () => {
    const toml = '[[d1_databases]]\nbinding = "A"\ndatabase_name = "a"\ndatabase_id = "1"\n\n[[d1_databases]]\nbinding = "B"\ndatabase_name = "b"\ndatabase_id = "2"\n';
    expect(setDatabaseId(toml, "b", "9")).toBe(toml.replace('database_id = "2"', 'database_id = "9"'));
  });
});
