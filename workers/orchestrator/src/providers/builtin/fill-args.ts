/**
 * Fills a tool's arguments from the request text, guided only by the tool's JSON Schema: enum values
 * named in the text, the longest list of numbers for a numeric array, a URL for a URL, a trading symbol
 * for a symbol, the whole request for a free-text query, and numbers the text ties to a parameter's name
 * ("period 14", "RSI(14)", "14-period"). What the text does not say is left out, so the tool's own
 * defaults apply. Returns null when a required argument cannot be filled.
 *
 * Both the schema (a client's tool, a tenant's registered tool) and the text are the caller's, up to a
 * megabyte: a parameter's name goes into a pattern only escaped, and every pattern here is written so a
 * failed attempt cannot be retried from the middle of a run of digits, spaces or punctuation (a
 * `(?<!\d)` before a number, one `\s*` where two could split the same spaces), which kept the cost
 * linear (without them 40,000 digits take seconds, and a megabyte would hold the isolate for hours).
 */
interface PropSchema {
  type?: string | string[];
  enum?: unknown[];
  items?: PropSchema;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  description?: string;
}

interface ObjectSchema {
  properties?: Record<string, PropSchema>;
  required?: string[];
}

const FREE_TEXT = /^(query|q|prompt|question|text|input|search)$/i;
const SYMBOL = /symbol|ticker|pair/i;
const URLISH = /url|uri|link/i;
const NUMBER_RUN = /-?(?<!\d)\d+(?:\.\d+)?(?:\s*[,;]\s*-?\d+(?:\.\d+)?|\s+-?\d+(?:\.\d+)?)+/g;

export function fillArgs(schema: Record<string, unknown>, text: string): Record<string, unknown> | null {
  const s = schema as ObjectSchema;
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const v = fillOne(name, prop, text);
    if (v !== undefined) out[name] = v;
  }
  // Own properties only: `in` found a required `constructor` or `toString` on Object.prototype, never filled.
  for (const r of s.required ?? []) if (!Object.hasOwn(out, r)) return null;
  return out;
}

function typeOf(p: PropSchema): string | undefined {
  return Array.isArray(p.type) ? p.type.find((t) => t !== "null") : p.type;
}

function fillOne(name: string, p: PropSchema, text: string): unknown {
  if (p.enum) return enumIn(p.enum, text);
  const type = typeOf(p);
  if (type === "array" && ["number", "integer"].includes(typeOf(p.items ?? {}) ?? "")) return numberList(text);
  if (type === "integer" || type === "number") return numberFor(name, p, text, type === "integer");
  if (type !== "string") return undefined;
  if (p.format === "uri" || URLISH.test(name)) return /https?:\/\/[^\s"'<>]+/.exec(text)?.[0]?.replace(/(?<![.,;)])[.,;)]+$/, "");
  if (SYMBOL.test(name)) return symbolIn(text);
  if (FREE_TEXT.test(name)) return text.trim() || undefined;
  return undefined;
}

const norm = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** The enum value whose words all appear in the text; the most specific (most words) wins. */
function enumIn(values: unknown[], text: string): unknown {
  const words = new Set(norm(text));
  const hits = values.filter((v) => {
    const parts = norm(String(v));
    return parts.length > 0 && parts.every((w) => words.has(w));
  });
  return hits.sort((a, b) => norm(String(b)).length - norm(String(a)).length)[0];
}

/** The longest run of at least two numbers separated by commas or spaces. */
function numberList(text: string): number[] | undefined {
  const runs = [...ungrouped(text).matchAll(NUMBER_RUN)].map((m) => m[0].split(/[\s,;]+/).filter(Boolean).map(Number));
  const best = runs.sort((a, b) => b.length - a.length)[0];
  return best && best.length >= 2 && best.every(Number.isFinite) ? best : undefined;
}

/**
 * "1,250.50, 1,262.75": when the list is separated by spaces (", " or " "), a comma with no space that is
 * followed by exactly three digits groups thousands, and is dropped. Without spaces ("100,200,300") every
 * comma separates: read the other way the numbers would be silently wrong.
 */
function ungrouped(text: string): string {
  if (!/\d(?:,\s+|\s+)-?\d/.test(text)) return text;
  let out = text;
  for (let prev = ""; prev !== out; ) (prev = out), (out = out.replace(/(\d),(\d{3})(?!\d)/g, "$1$2"));
  return out;
}

function numberFor(name: string, p: PropSchema, text: string, integer: boolean): number | undefined {
  const n = name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  // A name not inside a word: `\b` would say so too, but it also wants a word beside a name such as `(a)`.
  const e = escaped(n);
  const patterns = [new RegExp(`(?<!\\w)${e}\\s*(?:(?:[:=]|of|is)\\s*)?(-?\\d+(?:\\.\\d+)?)`, "i"), new RegExp(`(?<!\\d)(\\d+(?:\\.\\d+)?)[- ]${e}(?!\\w)`, "i")];
  // "RSI(14)", "SMA (50)": a number in parentheses right after a word is that indicator's period.
  if (n === "period") patterns.push(/[a-z%]\s*\(\s*(\d+)\s*[,)]/i, /(?<!\d)(\d+)[- ](?:day|bar|candle)s?\b/i);
  for (const re of patterns) {
    const m = re.exec(text);
    if (!m) continue;
    const v = Number(m[1]);
    if (integer && !Number.isInteger(v)) continue;
    if ((p.minimum !== undefined && v < p.minimum) || (p.maximum !== undefined && v > p.maximum)) continue;
    return v;
  }
  return undefined;
}

/** Text matched as itself: a parameter may be named `c++` or `(a+)+$` (any JSON key is a valid name). */
const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** An upper-case trading pair such as BTCUSDT or ETH/USDT, as people write them. */
function symbolIn(text: string): string | undefined {
  return /\b[A-Z0-9]{2,10}(?:[/-][A-Z]{2,6})?(?:USDT|USDC|USD|BTC|ETH|EUR|BUSD)\b|\b[A-Z]{2,6}[/-][A-Z]{2,6}\b/.exec(text)?.[0];
}
