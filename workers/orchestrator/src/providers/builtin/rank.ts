/**
 * BM25 over tool manifests: each tool is a small document made of its name (counted twice, names are
 * chosen words), description, plain-language examples and the enum values of its parameters. A corpus
 * of a handful of tools is too small for a search library to pay for itself, so this is the textbook
 * formula (Robertson & Zaragoza 2009) in a few lines.
 */
import type { FunctionTool } from "../../../../../lib/protocol/index.js";

const K1 = 1.2;
const B = 0.75;

const STOPWORDS = new Set(
  "a an and are as at be by can could do does for from get give how i in is it me my of on or please show tell that the these this those to what when where which who why will with you your".split(" "),
);

/** Lowercased words and numbers-with-letters (e.g. "1h", "rsi"), stopwords dropped, plural "s" folded. */
export function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? [])
    .filter((t) => !STOPWORDS.has(t) && !/^\d+(\.\d+)?$/.test(t))
    .map((t) => (t.length > 3 && t.endsWith("s") && !t.endsWith("ss") ? t.slice(0, -1) : t));
}

export function toolDocument(t: FunctionTool, examples: string[] = []): string {
  const f = t.function;
  const enums = Object.values((f.parameters?.properties ?? {}) as Record<string, { enum?: unknown[] }>).flatMap((p) => (Array.isArray(p.enum) ? p.enum.map(String) : []));
  const name = f.name.replace(/[-_]/g, " ");
  return [name, name, f.description ?? "", ...examples, ...enums].join(" ");
}

export interface Scored {
  name: string;
  score: number;
}

/** Scores every document against the query; documents are [name, text] pairs. Highest first. */
export function bm25(query: string, docs: [string, string][]): Scored[] {
  const q = [...new Set(tokens(query))];
  const bags = docs.map(([name, text]) => ({ name, terms: tokens(text) }));
  const avg = bags.reduce((s, d) => s + d.terms.length, 0) / Math.max(1, bags.length);
  const df = new Map<string, number>();
  for (const d of bags) for (const t of new Set(d.terms)) df.set(t, (df.get(t) ?? 0) + 1);
  const n = bags.length;
  return bags
    .map((d) => {
      let score = 0;
      for (const t of q) {
        const f = d.terms.filter((x) => x === t).length;
        if (!f) continue;
        const idf = Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
        score += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * d.terms.length) / (avg || 1)));
      }
      return { name: d.name, score };
    })
    .sort((a, b) => b.score - a.score);
}
