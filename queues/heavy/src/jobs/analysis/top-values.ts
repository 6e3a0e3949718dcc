/**
 * The most frequent values of a column in bounded memory. Counters are kept for up to 2×capacity values;
 * when that fills, the `capacity` largest are kept and a value seen afterwards starts at the largest count
 * dropped, as in Space-Saving (Metwally et al.): counts are upper bounds, over by at most `floor`, and any
 * value more frequent than that is kept. Exact while a column has few distinct values.
 *
 * Pruning finds the cut-off count by selection (linear on average) rather than sorting every counter: on a
 * column of unique values (an id) it runs once per `capacity` values and a full sort there was the largest
 * single cost of the analysis.
 */
import { detach } from "./detach.js";

/** A mutable counter, so that a value seen again costs one map lookup rather than a get and a set. */
interface Counter {
  n: number;
}

/**
 * A value's key: its text, or for an integer in canonical form its number (see ColumnStats.add), whose
 * String() is that text again.
 */
export type TopKey = string | number;

export class TopValues {
  private counts = new Map<TopKey, Counter>();
  private floor = 0;
  /** Scratch space for the counts during a prune, reused so pruning allocates nothing. */
  private readonly scratch: Float64Array;

  constructor(private readonly capacity: number) {
    this.scratch = new Float64Array(capacity * 2);
  }

  add(v: TopKey): void {
    const c = this.counts.get(v);
    if (c !== undefined) {
      c.n++;
      return;
    }
    if (this.counts.size >= this.capacity * 2) this.prune();
    this.counts.set(typeof v === "string" ? detach(v) : v, { n: this.floor + 1 });
  }

  top(n: number): { value: string; count: number }[] {
    return [...this.counts.entries()]
      .map(([key, count]) => ({ value: String(key), count: count.n }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1))
      .slice(0, n);
  }

  /** True while every count is exact (no value was ever dropped). */
  get isExact(): boolean {
    return this.floor === 0;
  }

  /**
   * Keeps the `capacity` largest counters. The cut-off is the (capacity+1)-th largest count: larger counts
   * are kept, and of the counters equal to it the oldest, until `capacity` are kept (what a stable sort by
   * count would keep); the cut-off becomes the floor.
   */
  private prune() {
    const s = this.scratch;
    let size = 0;
    for (const c of this.counts.values()) s[size++] = c.n;
    const cut = kthLargest(s, size, this.capacity);
    let above = 0;
    for (let i = 0; i < size; i++) if (s[i]! > cut) above++;
    let equalKept = this.capacity - above;
    // A new map rather than deletes in place: deleting half of a V8 hash map shrinks its table, and the
    // inserts that follow grow it again (measured: more time in the garbage collector than the sort saved).
    const kept = new Map<TopKey, Counter>();
    for (const [v, c] of this.counts) {
      if (c.n > cut) kept.set(v, c);
      else if (c.n === cut && equalKept > 0) (equalKept--, kept.set(v, c));
    }
    this.counts = kept;
    this.floor = Math.max(this.floor, cut);
  }
}

/**
 * The value at index `k` (0-based) of a[0..size) sorted in descending order, by quickselect (Hoare
 * partition, middle pivot). Reorders a[0..size).
 */
export function kthLargest(a: Float64Array, size: number, k: number): number {
  let lo = 0;
  let hi = size - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
