/**
 * SQL Server decimals without a server: tedious's own token parser reads ROW tokens built here, as it reads
 * them off the wire, before and after installExactDecimals.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { decimalText, installExactDecimals, moneyText } from "./mssql-decimals.ts";

type Column = { type: { name: string }; precision?: number; scale?: number; colName: string };
type ParseTokens = (chunks: Buffer[], debug: unknown, options: object, colMetadata: Column[]) => AsyncIterable<{ columns: { value: unknown }[] }>;

// The tedious mssql loads, as the driver finds it.
const fromMssql = createRequire(createRequire(import.meta.url).resolve("mssql"));
const Parser = fromMssql("tedious/lib/token/stream-parser.js") as { parseTokens: ParseTokens };

/** DECIMAL bytes: sign byte, then the magnitude in `size` little-endian bytes. */
function decimal(n: bigint, size: number): Buffer {
  const b = Buffer.alloc(1 + size);
  b[0] = n < 0n ? 0 : 1;
  let m = n < 0n ? -n : n;
  for (let i = 1; i <= size; i++, m >>= 8n) b[i] = Number(m & 0xffn);
  return b;
}

/** MONEY bytes: the ten-thousandths as high int32, then low uint32. */
function money(units: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(Number(BigInt.asIntN(32, units >> 32n)), 0);
  b.writeUInt32LE(Number(BigInt.asUintN(32, units)), 4);
  return b;
}

const withLength = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);

const COLUMNS: Column[] = [
  { colName: "d", type: { name: "DecimalN" }, precision: 38, scale: 18 },
  { colName: "n", type: { name: "NumericN" }, precision: 10, scale: 2 },
  { colName: "m", type: { name: "MoneyN" } },
  { colName: "fixed", type: { name: "Money" } },
  { colName: "small", type: { name: "SmallMoney" } },
  { colName: "none", type: { name: "DecimalN" }, precision: 5, scale: 0 },
];
const ROW = Buffer.concat([
  Buffer.from([0xd1]), // ROW token
  withLength(decimal(12345678901234567890123456789012345678n, 16)),
  withLength(decimal(-150n, 4)),
  withLength(money(9_223_372_036_854_775_807n)),
  money(-1n),
  Buffer.from(Int32Array.of(-2_147_483_648).buffer),
  Buffer.from([0]), // NULL
]);

/** The row's values as tedious parses it, the row split into chunks of `size` bytes (packets). */
async function parseRow(size: number): Promise<unknown[]> {
  const chunks = Array.from({ length: Math.ceil(ROW.length / size) }, (_, i) => ROW.subarray(i * size, (i + 1) * size));
  for await (const token of Parser.parseTokens(chunks, null, { useUTC: true }, COLUMNS)) return token.columns.map((c) => c.value);
  throw new Error("no row token");
}

describe("SQL Server exact decimals", () => {
  it("read DECIMAL, NUMERIC and MONEY bytes as exact decimal strings with all their scale's digits", () => {
    expect(decimalText(decimal(12345678901234567890123456789012345678n, 16), 18)).toBe("12345678901234567890.123456789012345678");
    expect(decimalText(decimal(-5n, 4), 6)).toBe("-0.000005");
    expect(decimalText(decimal(0n, 4), 2)).toBe("0.00");
    expect(decimalText(Buffer.from([0, 0, 0, 0, 0]), 2)).toBe("0.00"); // a negative zero is 0
    expect(decimalText(decimal(10n ** 38n - 1n, 16), 0)).toBe("9".repeat(38));
    expect(moneyText(money(-9_223_372_036_854_775_808n))).toBe("-922337203685477.5808");
    expect(moneyText(Buffer.from(Int32Array.of(123_400).buffer))).toBe("12.3400");
  });

  it("come out of tedious's own row parser once installed, however the row is split into packets", async () => {
    // Before: tedious's doubles, digits lost (its readNumeric and readMoney).
    const before = await parseRow(ROW.length);
    expect(before[0]).toBe(12345678901234567000);
    expect(before[2]).toBe(922337203685477.6);
    expect(installExactDecimals()).toBe(true);
    expect(installExactDecimals()).toBe(true); // once: a second install does not wrap the wrap
    const exact = ["12345678901234567890.123456789012345678", "-1.50", "922337203685477.5807", "-0.0001", "-214748.3648", null];
    for (const size of [ROW.length, 7, 3, 1]) expect(await parseRow(size), `chunks of ${size}`).toEqual(exact);
  });
});
