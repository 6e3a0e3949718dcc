/**
 * One round's work: ask every assistant that has not answered yet (in parallel, each answer stored the
 * moment it arrives), then — once all have answered or abstained — group free answers and count the vote.
 */
import type { Logger } from "../../lib/log.js";
import type { Position, RoundResult } from "../../lib/protocol/council.js";
import { codeOf, reasonOf } from "./failures.js";
import type { CouncilModel } from "./model.js";
import { normaliseAnswer, parseAnswer, parseGroups } from "./parse.js";
import { groupingPrompt, systemPrompt, userPrompt } from "./prompts.js";
import type { CouncilSettings } from "./settings.js";
import { ownEntry, positionKey, type CouncilState, type SeatedAssistant } from "./state.js";
import { tally } from "./tally.js";

export interface RoundDeps {
  storage: DurableObjectStorage;
  model: CouncilModel;
  settings: CouncilSettings;
  log: Logger;
}

/** Asks the missing assistants; returns the round's positions if every seat is now filled, else null. */
export async function collectPositions(s: CouncilState, d: RoundDeps): Promise<Position[] | null> {
  const keys = s.assistants.map((a) => positionKey(s.round, a.id));
  const stored = await d.storage.get<Position>(keys);
  const missing = s.assistants.filter((a) => !stored.has(positionKey(s.round, a.id)));
  await Promise.all(missing.map((a) => askOne(a, s, d).then((p) => p && stored.set(positionKey(s.round, a.id), p))));
  const positions = s.assistants.map((a) => stored.get(positionKey(s.round, a.id)));
  return positions.every((p) => p !== undefined) ? (positions as Position[]) : null;
}

async function askOne(a: SeatedAssistant, s: CouncilState, d: RoundDeps): Promise<Position | null> {
  const key = positionKey(s.round, a.id);
  let position: Position;
  try {
    const req = { model: a.model, system: systemPrompt(a, s), user: userPrompt(a, s, s.round) };
    const text = await withDeadline(d.settings.CIO_COUNCIL_STEP_TIMEOUT_MS, (signal) => d.model.complete(req, signal));
    position = { ...parseAnswer(text, s.options), assistant: a.id, round: s.round, weight: a.weight };
  } catch (err) {
    const attempts = (s.attempts[a.id] = (ownEntry(s.attempts, a.id) ?? 0) + 1);
    d.log.warn("assistant did not answer", { councilId: s.id, assistant: a.id, round: s.round, attempts, error: String(err) });
    if (attempts < d.settings.CIO_COUNCIL_ASSISTANT_ATTEMPTS) return null;
    const code = codeOf(err);
    position = { option: "(abstained)", confidence: 0, reasoning: "", assistant: a.id, round: s.round, weight: a.weight, error: reasonOf(err), ...(code ? { error_code: code } : {}) };
  }
  await d.storage.put(key, position);
  return position;
}

/**
 * Counts the round; free answers are first grouped by the moderator model (or by wording if it fails). The
 * model is named only when free answers need it: resolving it for fixed options failed councils whose
 * deployment has no default model (only the one their assistants name).
 */
export async function countRound(s: CouncilState, positions: Position[], d: RoundDeps, moderatorModel: () => string): Promise<RoundResult> {
  const labelled = s.options ? positions : await groupFree(s, positions, d, moderatorModel);
  return tally(s.round, labelled, s.assistants.map((a) => a.weight), s.threshold);
}

async function groupFree(s: CouncilState, positions: Position[], d: RoundDeps, moderatorModel: () => string): Promise<Position[]> {
  const voting = positions.filter((p) => !p.error);
  const distinct = new Set(voting.map((p) => normaliseAnswer(p.option).toLowerCase()));
  let labels: string[] | null = null;
  if (distinct.size > 1) {
    try {
      const prompt = groupingPrompt(s, voting.map((p) => p.option));
      const model = moderatorModel();
      const text = await withDeadline(d.settings.CIO_COUNCIL_STEP_TIMEOUT_MS, (signal) => d.model.complete({ model, ...prompt }, signal));
      labels = parseGroups(text, voting.length);
    } catch (err) {
      d.log.warn("grouping free answers failed; grouping by wording", { councilId: s.id, round: s.round, error: String(err) });
    }
  }
  const byWording = new Map<string, string>();
  return positions.map((p) => {
    if (p.error) return p;
    const i = voting.indexOf(p);
    const norm = normaliseAnswer(p.option);
    const label = labels?.[i] ?? byWording.get(norm.toLowerCase()) ?? norm;
    byWording.set(norm.toLowerCase(), label);
    return label === p.option ? p : { ...p, option: label, reasoning: `[answered: ${p.option}] ${p.reasoning}` };
  });
}

/** A call with a deadline whose timer is cleared when it ends (a pending timer would keep the object busy). */
async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no answer within ${ms} ms`)), ms);
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(timer);
  }
}
