/** Reading the models' JSON answers: tolerant of prose or code fences around the object, strict inside. */
import { z } from "zod";
import { AnswerSchema, OptionSchema, type Answer } from "../../lib/protocol/council.js";

export class AnswerError extends Error {}

export function extractJson(text: string): unknown {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) throw new AnswerError(`no JSON object in the answer: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    throw new AnswerError(`the answer's JSON does not parse: ${text.slice(start, start + 200)}`);
  }
}

/** An answer, its option matched to the fixed options (case-insensitively) when there are some. */
export function parseAnswer(text: string, options: string[] | null): Answer {
  const parsed = AnswerSchema.safeParse(extractJson(text));
  if (!parsed.success) throw new AnswerError(`the answer does not fit {option, confidence, reasoning}: ${z.prettifyError(parsed.error)}`);
  if (!options) return parsed.data;
  const want = parsed.data.option.toUpperCase();
  const option = options.find((o) => o.toUpperCase() === want);
  if (!option) throw new AnswerError(`'${parsed.data.option}' is not one of ${options.join(", ")}`);
  return { ...parsed.data, option };
}

const GroupsSchema = z.object({
  // A label becomes the option voted for, so it obeys the options' limit (and can be decided and reported).
  groups: z.array(z.object({ label: OptionSchema, members: z.array(z.number().int().positive()) })).min(1),
});

/** Answer index → group label; every answer must be placed exactly once. */
export function parseGroups(text: string, count: number): string[] {
  const parsed = GroupsSchema.safeParse(extractJson(text));
  if (!parsed.success) throw new AnswerError(`the grouping does not fit {groups: [{label, members}]}`);
  const labels: (string | undefined)[] = new Array(count).fill(undefined);
  for (const g of parsed.data.groups) {
    for (const m of g.members) {
      if (m > count || labels[m - 1] !== undefined) throw new AnswerError(`the grouping places answer ${m} wrongly`);
      labels[m - 1] = g.label;
    }
  }
  if (labels.some((l) => l === undefined)) throw new AnswerError("the grouping leaves answers out");
  return labels as string[];
}

/**
 * Without a usable grouping, answers that read the same once normalised form a group. An answer that is all
 * punctuation ("...", "!") stays as it was: normalised to "" it could win the vote, and no decision or outcome
 * can name "" (OptionSchema).
 */
export function normaliseAnswer(s: string): string {
  const normal = s.trim().replace(/[.!]+$/, "").replace(/\s+/g, " ");
  return normal || s.trim();
}
