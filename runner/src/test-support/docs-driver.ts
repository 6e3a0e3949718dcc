/** A driver without a database, for tests of how rows are framed: each row is `[i, body]`. */
import type { Driver } from "../drivers/types.ts";

/** Rows `[i, body]`, one per body of `bodiesOf(sql)`; `fetches` records how many rows each fetch took, in order. */
export function docsDriver(bodiesOf: (sql: string) => readonly string[]): { driver: Driver; fetches: number[] } {
  const fetches: number[] = [];
  const driver: Driver = {
    kind: "sqlite",
    defaultSchema: "main",
    open: async (sql, _params, opts) => {
      const bodies = bodiesOf(sql);
      let at = 0;
      return {
        columns: [{ name: "id", type: "integer" }, { name: "body", type: "text" }],
        next: async (n = opts.batchRows) => {
          const rows = bodies.slice(at, at + n).map((b, i) => [at + i, b]);
          at += rows.length;
          if (rows.length) fetches.push(rows.length);
          return rows.length ? rows : null;
        },
        close: async () => {},
      };
    },
    schema: async () => [],
    ping: async () => {},
    close: async () => {},
  };
  return { driver, fetches };
}
