/** A D1 binding whose next `failures` batches fail as D1 answers a transient error: nothing of such a batch is written. */
export function failingBatches(d1: D1Database, failures = 1): D1Database {
  let left = failures;
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          if (left-- > 0) throw new Error("D1_ERROR: Network connection lost.");
          return target.batch(stmts);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
