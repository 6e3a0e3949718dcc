/**
 * What `npm run deploy` reads from the Worker configs: the order to deploy them in, and the queues, R2
 * buckets and D1 databases they bind, which must exist before the first deploy. Derived from every
 * wrangler.toml rather than listed by hand, so a new binding cannot silently break a first deploy.
 */
import { globSync } from "node:fs";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { deployableConfig } from "./deploy-ai.ts";
import { ROOT } from "./local-stack.ts";

export interface DeployedWorker {
  config: string;
  name: string;
  /** Workers this one binds (service bindings, Durable Objects of another script): they must exist first. */
  needs: string[];
  queues: string[];
  buckets: string[];
  databases: { name: string; id: string }[];
}

/** Every deployable config, relative to the root (test stand-ins live under test/ and are not matched). */
export function deployConfigs(): string[] {
  const patterns = ["wrangler.toml", "workers/*/wrangler.toml", "workers/tools/*/wrangler.toml", "queues/*/wrangler.toml"];
  return patterns.flatMap((p) => globSync(p, { cwd: ROOT })).sort();
}

/**
 * What `npm run deploy` deploys, in order, read from the configs `wrangler deploy` is given: the deploy copies
 * where deploy adds bindings (lib/deploy-ai.ts, which writes them), so a Worker bound only when deployed (the
 * media tool) is deployed before the Worker that binds it. Each keeps its checked-in `config`: the D1 id is
 * written there, and the copy is written again from it right before its deploy.
 */
export function deployPlan(ai: boolean): DeployedWorker[] {
  return deployOrder(deployConfigs().map((config) => ({ ...readWorker(deployableConfig(config, ai)), config })));
}

/** The parts of a wrangler config read here (wrangler's types leave its Config type unresolved: any). */
interface WranglerConfig {
  name?: string;
  services: { service: string }[];
  durable_objects: { bindings: { script_name?: string }[] };
  queues: { producers?: { queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string }[] };
  r2_buckets: { bucket_name?: string }[];
  d1_databases: { database_name?: string; database_id?: string }[];
}

export function readWorker(config: string): DeployedWorker {
  const c: WranglerConfig = unstable_readConfig({ config: join(ROOT, config) });
  const targets = [...c.services.map((s) => s.service), ...c.durable_objects.bindings.map((b) => b.script_name)];
  const consumers = c.queues.consumers ?? [];
  const queues = [...(c.queues.producers ?? []).map((q) => q.queue), ...consumers.flatMap((q) => [q.queue, q.dead_letter_queue])];
  return {
    config,
    name: c.name!,
    needs: unique(targets).filter((t) => t !== c.name),
    queues: unique(queues),
    buckets: unique(c.r2_buckets.map((b) => b.bucket_name)),
    databases: c.d1_databases.map((d) => ({ name: d.database_name!, id: d.database_id! })),
  };
}

/**
 * Every Worker after the Workers it binds (a Durable Object's script before its users), keeping the given
 * order otherwise. A binding to a Worker not deployed from here must point at one that already exists, so
 * it does not constrain the order. Bindings that form a cycle cannot all be satisfied on a first deploy:
 * that is reported rather than guessed around.
 */
export function deployOrder(workers: DeployedWorker[]): DeployedWorker[] {
  const byName = new Map(workers.map((w) => [w.name, w]));
  const order: DeployedWorker[] = [];
  const visit = (w: DeployedWorker, path: string[]) => {
    if (order.includes(w)) return;
    if (path.includes(w.name)) {
      const cycle = [...path.slice(path.indexOf(w.name)), w.name].join(" → ");
      throw new Error(`Worker bindings form a cycle (${cycle}): deploy one of them once without the binding that closes it`);
    }
    for (const target of w.needs) if (byName.has(target)) visit(byName.get(target)!, [...path, w.name]);
    order.push(w);
  };
  for (const w of workers) visit(w, []);
  return order;
}

/** Each D1 database bound anywhere, with the configs that bind it (its id must be the same in all of them). */
export function databaseUsers(workers: DeployedWorker[]): Map<string, DeployedWorker[]> {
  const users = new Map<string, DeployedWorker[]>();
  for (const w of workers) for (const d of w.databases) users.set(d.name, [...(users.get(d.name) ?? []), w]);
  return users;
}

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))];
}
