/**
 * What each assistant is told. Round 1 is blind: only the question, the context and the assistant's own
 * evidence. Later rounds add the previous round's positions of the others, anonymised as "Assistant A,
 * B, …" so no assistant defers to a name. The question always comes last.
 */
import type { Position } from "../../lib/protocol/council.js";
import { ownEntry, type CouncilState, type SeatedAssistant } from "./state.js";

export function systemPrompt(a: SeatedAssistant, s: CouncilState): string {
  const choice = s.options
    ? `"option" must be exactly one of: ${s.options.join(", ")}.`
    : `"option" is your answer in a few words${knownAnswers(s)}.`;
  return [
    a.persona,
    "",
    "You sit on a council that answers one question by weighted vote over several rounds.",
    "Reply with a single JSON object and nothing else:",
    '{"option": "...", "confidence": 0.0-1.0, "reasoning": "one short paragraph"}',
    choice,
  ].join("\n");
}

function knownAnswers(s: CouncilState): string {
  const last = s.rounds.at(-1);
  if (!last) return "";
  const labels = Object.keys(last.tally);
  return labels.length ? `; reuse one of these wordings if you agree with it: ${labels.join(" | ")}` : "";
}

export function userPrompt(a: SeatedAssistant, s: CouncilState, round: number): string {
  const parts = [`Round ${round} of ${s.maxRounds}.`];
  if (s.context) parts.push(`Context:\n${s.context}`);
  const evidence = s.evidence && ownEntry(s.evidence, a.id);
  if (evidence) parts.push(`Your evidence:\n${evidence}`);
  const previous = s.rounds.at(-1);
  if (round > 1 && previous) {
    const mine = previous.positions.find((p) => p.assistant === a.id);
    if (mine && !mine.error) parts.push(`Your previous position: ${describe(mine)}`);
    const others = previous.positions.filter((p) => p.assistant !== a.id && !p.error);
    parts.push(`The other members' positions in round ${previous.round} (anonymised):\n${others.map((p, i) => `Assistant ${letter(i)}: ${describe(p)}`).join("\n")}`);
    parts.push("Weigh their arguments. Keep your position or revise it.");
  }
  parts.push(`Question: ${s.question}`);
  return parts.join("\n\n");
}

const describe = (p: Position) => `${p.option} (confidence ${p.confidence}): ${p.reasoning}`;
const letter = (i: number) => String.fromCharCode(65 + (i % 26));

/** The moderator groups free answers that say the same thing, so the vote counts meaning, not wording. */
export function groupingPrompt(s: CouncilState, answers: string[]): { system: string; user: string } {
  return {
    system: [
      "You group answers to a question that say the same thing.",
      'Reply with a single JSON object and nothing else: {"groups": [{"label": "short answer", "members": [1, 3]}]}',
      "Every answer number appears in exactly one group; the label is a short wording of that group's answer.",
    ].join("\n"),
    user: `Answers:\n${answers.map((t, i) => `${i + 1}. ${t}`).join("\n")}\n\nQuestion: ${s.question}`,
  };
}
