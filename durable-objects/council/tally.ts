/**
 * The weighted vote. Consensus needs the leading option's weight to reach `threshold` of the total
 * weight of all seated assistants, so an abstention (an assistant that could not answer) makes
 * consensus harder rather than easier.
 */
import type { Position, RoundResult } from "../../lib/protocol/council.js";

/**
 * Votes are counted in whole billionths of a weight. Summed as floats, 0.4 + 0.8 came to 1.2000000000000002
 * against one 1.2: a tie at the top led by a rounding error, with half the weight, which met a threshold of
 * 0.5 and decided. A seat's weight has five significant digits (seat.ts) and is at least 0.001 × 0.01 (the
 * lowest base weight and CIO_COUNCIL_WEIGHT_FLOOR), so it is a whole number of 1e-9; twelve seats of at most
 * 100 × 10 make 1.2e13 units, well within the integers a double holds exactly.
 */
const WEIGHT_UNITS = 1e9;
const units = (weight: number) => Math.round(weight * WEIGHT_UNITS);

export function tally(round: number, positions: Position[], seatWeights: readonly number[], threshold: number): RoundResult {
  // A Map, not an object: options are the caller's or a model's words, and in an object "toString" or
  // "constructor" started from Object.prototype's function (a string count, a NaN share) and "__proto__" vanished.
  const votes = new Map<string, number>();
  for (const p of positions) if (!p.error) votes.set(p.option, (votes.get(p.option) ?? 0) + units(p.weight));
  const total = seatWeights.reduce((sum, w) => sum + units(w), 0);
  const ranked = [...votes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const [first, second] = ranked;
  // A tie at the top is no consensus, whatever the threshold: equal blocs count exactly equal.
  const leader = first && (!second || second[1] < first[1]) ? first[0] : null;
  // Stored as it is compared, not rounded: a share rounded to four decimals read 0.6667 beside a threshold of
  // 0.6667 on a round that (exactly 2/3) had not reached it. The count is exact, so is the comparison: the
  // 1e-9 of slack that once absorbed float sums would let a share just short of the threshold through.
  const share = first && total > 0 ? first[1] / total : 0;
  const consensus = leader !== null && share >= threshold;
  // fromEntries defines own properties, so every option, "__proto__" too, is a key of the stored tally. Each
  // count is stored as the decimal it is (1.2, not 1.2000000000000002), in D1 and in the view alike.
  return { round, tally: Object.fromEntries([...votes].map(([option, n]) => [option, n / WEIGHT_UNITS])), leader, share, consensus, positions };
}

/** A count fit to act on and to store: D1 refuses a NaN share (NOT NULL), and a stored one was replayed for ever. */
export const isSoundCount = (r: RoundResult) => Number.isFinite(r.share) && Object.values(r.tally).every(Number.isFinite);
