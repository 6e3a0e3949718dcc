/**
 * Turns the model's answer into a query request. Models wrap JSON in prose or code fences and sometimes
 * answer bare SQL; all of those are accepted, anything else is a clear failure.
 */
import { z } from "zod";
import { SqlScalarSchema } from "../../../../../lib/protocol/runner.js";

const PlanSchema = z.union([
  z.object({ sql: z.string().min(1) }),
  z.object({ named: z.string().min(1), params: z.record(z.string(), SqlScalarSchema).optional() }),
  z.object({ error: z.string() }),
]);
export type Plan = { sql: string } | { named: string; params?: Record<string, string | number | boolean | null> } | { error: string };

export function parsePlan(text: string): Plan {
  const unfenced = text.replace(/```(?:json|sql)?/gi, "").trim();
  const brace = unfenced.indexOf("{");
  if (brace >= 0) {
    try {
      const r = PlanSchema.safeParse(JSON.parse(unfenced.slice(brace, unfenced.lastIndexOf("}") + 1)));
      if (r.success) return r.data;
    } catch {
      /* not JSON: maybe bare SQL below */
    }
  }
  if (/^\s*(select|with)\b/i.test(unfenced)) return { sql: unfenced.replace(/;\s*$/, "") };
  return { error: `the model did not answer with a query: ${text.slice(0, 200)}` };
}

/** For the builtin provider (no model): a named query whose name or description shares the most words with the question. */
export function matchNamed(question: string, named: { name: string; description?: string; params: string[] }[]) {
  const words = new Set(question.toLowerCase().match(/[a-z0-9]{3,}/g) ?? []);
  const score = (q: (typeof named)[number]) => `${q.name} ${q.description ?? ""}`.toLowerCase().split(/[^a-z0-9]+/).filter((w) => words.has(w)).length;
  const best = named.filter((q) => q.params.length === 0).sort((a, b) => score(b) - score(a))[0];
  return best && score(best) > 0 ? best : undefined;
}
