/**
 * The most frequent values of a column in bounded memory. Counters are kept for up to 2×capacity values;
 * when that fills, the `capacity` largest are kept (one sort, so the cost per value stays constant on
 * average, unlike a scan for the smallest counter on every miss) and a value seen afterwards starts at the
 * largest count dropped, as in Space-Saving (Metwally et al.): counts are upper bounds, over by at most
 * `floor`, and any value more frequent than that is kept. Exact while a column has few distinct values.
 */
/** A mutable counter, so that a value seen again costs one map lookup rather than a get and a set. */
interface Counter {
  n: number;
}

export class TopValues {
  private counts = new Map<string, Counter>();
  private floor = 0;

  constructor(private readonly capacity: number) {}

  add(v: string): void {
    const c = this.counts.get(v);
    if (c !== undefined) {
      c.n++;
      return;
    }
    if (this.counts.size >= this.capacity * 2) this.prune();
    this.counts.set(v, { n: this.floor + 1 });
  }

  top(n: number): { value: string; count: number }[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([value, count]) => ({ value, count: count.n }));
  }

  /** True while every count is exact (no value was ever dropped). */
  get isExact(): boolean {
    return this.floor === 0;
  }

  private prune() {
    const sorted = [...this.counts.entries()].sort((a, b) => b[1].n - a[1].n);
    this.floor = Math.max(this.floor, sorted[this.capacity]?.[1].n ?? 0);
    this.counts = new Map(sorted.slice(0, this.capacity));
  }
}
