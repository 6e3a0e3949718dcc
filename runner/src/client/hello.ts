/**
 * What the runner says in `hello`: its name, protocol, limits and the schema its policy lets it show. The
 * schema is read from the database by a SchemaReader (on every connection's hello): one read at a time,
 * whatever the number of connections that wait for it, and the last one read kept across reconnects.
 */
import { randomUUID } from "node:crypto";
import { RUNNER_PROTOCOL_VERSION, type HelloFrame, type SchemaTable } from "../../../lib/protocol/runner.ts";
import type { Driver } from "../drivers/types.ts";
import { messageOf } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Policy } from "../policy/index.ts";
import { RUNNER_VERSION } from "../version.ts";

/** What a hello is made of besides the schema. */
export interface HelloSource {
  runnerName: string;
  driver: Pick<Driver, "kind">;
  policy: Policy;
  maxConcurrent: number;
}

/**
 * The schema a hello carries. The hub takes WebSocket messages of at most 32 MiB (the Durable Object limit,
 * 1 MiB before), and a database with many thousands of tables or partitions (and no allow-list) can exceed
 * any such limit: the hello never arrived and the runner looked offline with no error anywhere. Tables past
 * the budget are left out, in the order given.
 */
const HELLO_SCHEMA_BYTES = 512 * 1024;

/** A hello with `tables` (already filtered by the policy), cut to the budget, saying how many were left out. */
export function helloFrame(src: HelloSource, tables: SchemaTable[], log: Logger): HelloFrame {
  const kept = withinBudget(tables, HELLO_SCHEMA_BYTES);
  if (kept.length < tables.length) {
    log.warn("the schema is too large to send whole; set allow-lists to choose what the model sees", { tables: tables.length, sent: kept.length });
  }
  const { policy } = src;
  return {
    type: "hello",
    protocol: RUNNER_PROTOCOL_VERSION,
    requestId: randomUUID(),
    runnerName: src.runnerName,
    version: RUNNER_VERSION,
    dbKind: src.driver.kind,
    schema: { tables: kept, ...(kept.length < tables.length ? { omitted: tables.length - kept.length } : {}) },
    namedQueries: policy.namedQueryInfo(),
    namedOnly: policy.config.namedOnly,
    maxRows: policy.config.maxRows,
    maxConcurrent: src.maxConcurrent,
  };
}

function withinBudget(tables: SchemaTable[], budget: number): SchemaTable[] {
  let used = 0;
  const kept: SchemaTable[] = [];
  for (const t of tables) {
    used += JSON.stringify(t).length + 1;
    if (used > budget) break;
    kept.push(t);
  }
  return kept;
}

interface SchemaSource {
  driver: Pick<Driver, "schema" | "functions">;
  policy: Pick<Policy, "visibleSchema" | "learnFunctions">;
}

/**
 * Reads the database's tables and the default schema's functions: the policy learns the functions (an
 * unqualified call of one is that schema's, for the allow-lists) and gives back the tables it lets be shown.
 */
export async function readSchema(src: SchemaSource): Promise<SchemaTable[]> {
  // One after the other: the pool keeps one connection beyond maxConcurrent, for this read and cancels.
  const tables = await src.driver.schema();
  const functions = await src.driver.functions?.();
  if (functions) src.policy.learnFunctions(functions);
  return src.policy.visibleSchema(tables);
}

/**
 * Reads the schema the policy lets the runner show. A read still under way is shared, never started again:
 * a schema slower than the hub's patience made every reconnect start one more read, each holding a pool
 * connection, and none of them ever finished in time.
 */
export class SchemaReader {
  private readonly src: SchemaSource;
  private readonly log: Logger;
  private pending: Promise<SchemaTable[]> | null = null;
  private lastRead: SchemaTable[] | null = null;

  constructor(src: SchemaSource, log: Logger) {
    this.src = src;
    this.log = log;
  }

  /** The last schema read, if any. */
  get last(): SchemaTable[] | null {
    return this.lastRead;
  }

  /** The schema under way, or a new read. A failed read gives the last one read (none: no tables), with a warning. */
  read(): Promise<SchemaTable[]> {
    if (this.pending) return this.pending;
    const read = readSchema(this.src).then(
      (tables) => (this.lastRead = tables),
      (err: unknown) => {
        this.log.warn("could not read the database schema for hello", { message: messageOf(err) });
        return this.lastRead ?? [];
      },
    );
    this.pending = read.finally(() => (this.pending = null));
    return this.pending;
  }
}
