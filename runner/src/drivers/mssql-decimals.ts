/**
 * Exact DECIMAL, NUMERIC, MONEY and SMALLMONEY from SQL Server, as decimal strings like PostgreSQL's numeric
 * and MySQL's DECIMAL. tedious computes them as doubles (value-parser's readNumeric: magnitude * sign /
 * 10^scale; readMoney: (low + 2^32 * high) / 10000), so DECIMAL(38,18) and MONEY past 2^53 lost digits
 * before any code of ours saw them: mssql's valueHandler only gets the double.
 *
 * tedious has no hook for how a type is read, so its value parser's readValue is wrapped. The original still
 * reads every value (checking lengths, and throwing NotEnoughDataError for a row split across packets, which
 * makes the row parser wait and call again); for these types the bytes it consumed are then read again,
 * exactly. tedious's row parsers call readValue through the module's exports (`(0, _valueParser.readValue)`
 * in tedious 19), which is what lets the wrap take effect; mssql-decimals.test.ts runs tedious's own token
 * parser to prove it. A tedious laid out otherwise is left alone, and its decimals stay doubles.
 */
import { createRequire } from "node:module";

type Metadata = { type: { name: string }; scale?: number };
type ReadValue = ((buf: Buffer, offset: number, metadata: Metadata, options: unknown) => { value: unknown; offset: number }) & {
  exact?: true;
};

/** DECIMAL / NUMERIC bytes: a sign byte (1 positive, 0 negative), then the magnitude, little-endian. */
export function decimalText(bytes: Uint8Array, scale: number): string {
  let magnitude = 0n;
  for (let i = bytes.length - 1; i >= 1; i--) magnitude = (magnitude << 8n) | BigInt(bytes[i]!);
  return scaled(bytes[0] === 1 ? magnitude : -magnitude, scale);
}

/** MONEY bytes (high int32, then low uint32) or SMALLMONEY's (int32), both in ten-thousandths. */
export function moneyText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const units = b.length === 8 ? (BigInt(b.readInt32LE(0)) << 32n) | BigInt(b.readUInt32LE(4)) : BigInt(b.readInt32LE(0));
  return scaled(units, 4);
}

/** `n` / 10^scale with all `scale` digits, as SQL Server prints it. */
function scaled(n: bigint, scale: number): string {
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, "0");
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return n < 0n ? `-${text}` : text;
}

/** tedious's type names; the N types start with a length byte before the bytes above. */
const EXACT: Record<string, { lengthByte: boolean; text: (bytes: Uint8Array, m: Metadata) => string }> = {
  DecimalN: { lengthByte: true, text: (b, m) => decimalText(b, m.scale ?? 0) },
  NumericN: { lengthByte: true, text: (b, m) => decimalText(b, m.scale ?? 0) },
  MoneyN: { lengthByte: true, text: moneyText },
  Money: { lengthByte: false, text: moneyText },
  SmallMoney: { lengthByte: false, text: moneyText },
};

function exact(read: ReadValue): ReadValue {
  const wrapped: ReadValue = (buf, offset, metadata, options) => {
    const result = read(buf, offset, metadata, options);
    const type = EXACT[metadata.type.name];
    if (type && result.value !== null) result.value = type.text(buf.subarray(offset + (type.lengthByte ? 1 : 0), result.offset), metadata);
    return result;
  };
  wrapped.exact = true;
  return wrapped;
}

/** Wraps the readValue of the tedious that mssql loads, once. False if that tedious has none to wrap. */
export function installExactDecimals(): boolean {
  let parser: { readValue?: ReadValue };
  try {
    const mssql = createRequire(import.meta.url).resolve("mssql");
    parser = createRequire(mssql)("tedious/lib/value-parser.js") as { readValue?: ReadValue };
  } catch {
    return false;
  }
  if (typeof parser.readValue !== "function") return false;
  if (!parser.readValue.exact) parser.readValue = exact(parser.readValue);
  return true;
}
