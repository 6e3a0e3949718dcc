/**
 * What the Workers bind but a first `wrangler deploy` fails without: the queues, the R2 buckets and the D1
 * database (and its id in every config). Every step is idempotent, so `npm run deploy` runs them each time.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { databaseUsers, readWorker, type DeployedWorker } from "./deploy-plan.ts";
import { ROOT, wrangler } from "./local-stack.ts";

export function ensureQueue(name: string) {
  ensure(`queue ${name}`, ["queues", "create", name], ["queues", "info", name]);
}

export function ensureBucket(name: string) {
  ensure(`R2 bucket ${name}`, ["r2", "bucket", "create", name], ["r2", "bucket", "info", name]);
}

/**
 * Creates the resource. A failure is fine if the resource already exists: said so by the error, or, since
 * the API's wording is no contract, found by asking for the resource itself.
 */
function ensure(what: string, create: string[], info: string[]) {
  try {
    wrangler(create, { quiet: true });
    console.log(`created ${what}`);
  } catch (err) {
    if (!/already (exists|taken|owned)/i.test(String(err)) && !succeeds(info)) throw err;
    console.log(`${what} exists`);
  }
}

function succeeds(args: string[]): boolean {
  try {
    wrangler(args, { quiet: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * One D1 id for all: the account's database of that name, created if missing. Every config that binds it
 * is brought in line, so the id is never copied by hand (a stale placeholder in one file fails its deploy).
 */
export function syncDatabaseIds(workers: DeployedWorker[]) {
  for (const [name, users] of databaseUsers(workers)) {
    const id = ensureDatabase(name);
    for (const w of users) {
      if (w.databases.every((d) => d.name !== name || d.id === id)) continue;
      writeDatabaseId(w.config, name, id);
      if (readWorker(w.config).databases.some((d) => d.name === name && d.id !== id)) {
        throw new Error(`could not write D1 id ${id} into ${w.config}: set its database_id for ${name} by hand`);
      }
      console.log(`wrote D1 id ${id} of ${name} into ${w.config}`);
    }
  }
}

/** The account's id of D1 database `name`, which is created first if it does not exist. */
export function ensureDatabase(name: string): string {
  const existing = databaseId(name);
  if (existing) return existing;
  wrangler(["d1", "create", name], { quiet: true });
  console.log(`created D1 database ${name}`);
  const id = databaseId(name);
  if (!id) throw new Error(`D1 database ${name} was created but \`wrangler d1 list\` does not show it`);
  return id;
}

function databaseId(name: string): string | undefined {
  const out = wrangler(["d1", "list", "--json"], { quiet: true });
  const databases = JSON.parse(out.slice(out.indexOf("["))) as { uuid: string; name: string }[];
  return databases.find((d) => d.name === name)?.uuid;
}

/** `toml` with `id` as the database_id of each [[d1_databases]] table that names database `name`. */
export function setDatabaseId(toml: string, name: string, id: string): string {
  const namesIt = new RegExp(`^database_name\\s*=\\s*"${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"`, "m");
  return toml
    .split(/(?=^\[)/m)
    .map((table) => (table.startsWith("[[d1_databases]]") && namesIt.test(table) ? table.replace(/^database_id\s*=\s*"[^"]*"/m, `database_id = "${id}"`) : table))
    .join("");
}

function writeDatabaseId(config: string, name: string, id: string) {
  const file = join(ROOT, config);
  writeFileSync(file, setDatabaseId(readFileSync(file, "utf8"), name, id));
}
