import { describe, expect, it } from "vitest";
import { preparePostgres, unavailable } from "../src/test-support/databases.ts";
import { benchDirect, benchRunner, prepareBenchTable } from "./pg-stream.ts";

const db = await preparePostgres();
const skip = unavailable("PostgreSQL", "reason" in db ? db.reason : null);

describe.skipIf(skip)("bench helper", () => {
  it("streams the same rows both ways and reports throughput and RSS", async () => {
    const url = "url" in db ? db.url : "";
    await prepareBenchTable(url, 5000);
    const direct = await benchDirect(url);
    const runner = await benchRunner(url);
    expect(direct.rows).toBe(5000);
    expect(runner.rows).toBe(5000);
    expect(runner.rowsPerSec).toBeGreaterThan(0);
    expect(runner.peakRssMb).toBeGreaterThan(0);
  });
});
