/**
 * The weighted vote. Consensus needs the leading option's weight to reach `threshold` of the total
 * weight of all seated assistants, so an abstention (an assistant that could not answer) makes
 * consensus harder rather than easier.
 */
import type { Position, RoundResult } from "../../lib/protocol/council.js";

export function tally(round: number, positions: Position[], totalWeight: number, threshold: number): RoundResult {
  const votes: Record<string, number> = {};
  for (const p of positions) if (!p.error) votes[p.option] = (votes[p.option] ?? 0) + p.weight;
  const ranked = Object.entries(votes).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const [first, second] = ranked;
  // A tie at the top is no consensus, whatever the threshold.
  const leader = first && (!second || second[1] < first[1]) ? first[0] : null;
  const share = first && totalWeight > 0 ? first[1] / totalWeight : 0;
  const consensus = leader !== null && share >= threshold - 1e-9;
  return { round, tally: votes, leader, share: round4(share), consensus, positions };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
