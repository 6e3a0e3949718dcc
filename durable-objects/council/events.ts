/** The `council` events a session hears about: built from the state, so a replayed step sends the same. */
import type { CouncilEvent } from "../../lib/protocol/session-events.js";
import type { CouncilState } from "./state.js";

export function eventsFor(s: CouncilState): CouncilEvent[] {
  const base = { type: "council" as const, council_id: s.id };
  // Before the rounds: a council may fail before any round was recorded.
  if (s.status === "failed") return [{ ...base, status: "failed", summary: s.error ?? "the council failed" }];
  const last = s.rounds.at(-1);
  const positions = last?.positions.filter((p) => !p.error).map((p) => ({ assistant: p.assistant, option: p.option, confidence: p.confidence, reasoning: p.reasoning, weight: p.weight }));
  const events: CouncilEvent[] = [];
  if (!last) return [{ ...base, status: "running", round: 0, question: s.question, options: s.options ?? undefined }];
  if (s.status !== "decided") {
    events.push({ ...base, status: "round_finished", round: last.round, positions, summary: roundSummary(s, last.round) });
  }
  if (s.status === "consensus") events.push({ ...base, status: "consensus", round: last.round, decision: s.decision!.option, positions, summary: statusSummary(s) });
  if (s.status === "awaiting_human") {
    events.push({ ...base, status: "awaiting_human", round: last.round, question: s.question, options: optionsOf(s), positions, summary: statusSummary(s) });
  }
  if (s.status === "decided") events.push({ ...base, status: "decided", decision: s.decision!.option, summary: statusSummary(s) });
  return events;
}

/** What the human chooses from: the fixed options, or the answers the last round produced. */
export const optionsOf = (s: CouncilState): string[] => s.options ?? Object.keys(s.rounds.at(-1)?.tally ?? {});

export function roundSummary(s: CouncilState, round: number): string {
  const r = s.rounds.find((x) => x.round === round);
  if (!r) return "";
  const votes = Object.entries(r.tally)
    .sort((a, b) => b[1] - a[1])
    .map(([o, w]) => `${o} ${w.toFixed(2)}`)
    .join(", ");
  const lead = r.leader ? `${r.leader} leads with ${(r.share * 100).toFixed(0)}% of the weight` : "no single leader";
  return `Round ${r.round}: ${votes || "no votes"}; ${lead} (threshold ${(s.threshold * 100).toFixed(0)}%).`;
}

export function statusSummary(s: CouncilState): string {
  switch (s.status) {
    case "consensus":
      return `Consensus: ${s.decision!.option} (round ${s.rounds.length}).`;
    case "awaiting_human":
      return `No consensus after ${s.rounds.length} rounds; a human decides between ${optionsOf(s).join(", ")} (POST /v1/councils/${s.id}/decision).`;
    case "decided":
      return `Decided by a human: ${s.decision!.option}.`;
    case "failed":
      return `The council failed: ${s.error ?? "unknown error"}.`;
    default:
      return `Round ${s.round} of ${s.maxRounds} is running.`;
  }
}

/**
 * Keeps the notice still owed for the state as it is, before the state moves on: the events are built from
 * the state, so a notice the session could not take was lost once the next step had run (the opening's
 * `running` after one failed publish, a round's after two).
 */
export function keepOwed(s: CouncilState) {
  if (!s.pendingEvent) return;
  s.owed = [...(s.owed ?? []), ...eventsFor(s)];
  s.pendingEvent = false;
}

/** Every notice owed, oldest first. */
export const owedEvents = (s: CouncilState): CouncilEvent[] => [...(s.owed ?? []), ...(s.pendingEvent ? eventsFor(s) : [])];
