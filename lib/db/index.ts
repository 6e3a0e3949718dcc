import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../d1-migrations/schema/index.js";

export { schema };
export type Db = ReturnType<typeof openDb>;

/** A drizzle client over the D1 binding; cheap to make, so it is made per request. */
export function openDb(d1: D1Database) {
  return drizzle(d1, { schema });
}
