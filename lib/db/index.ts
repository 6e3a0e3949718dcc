import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../d1-migrations/schema/index.js";

export { schema };
export type Db = ReturnType<typeof openDb>;

const clients = new WeakMap<D1Database, ReturnType<typeof makeDb>>();
const makeDb = (d1: D1Database) => drizzle(d1, { schema });

/**
 * A drizzle client over the D1 binding, made once per binding object and isolate: making one walks the
 * whole schema (about a millisecond of CPU, profiled on the cio/auto path) and it holds no per-request state.
 */
export function openDb(d1: D1Database) {
  let db = clients.get(d1);
  if (!db) clients.set(d1, (db = makeDb(d1)));
  return db;
}
