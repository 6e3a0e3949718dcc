/**
 * The most frequent values of a column in bounded memory. Counters are kept for up to 2×capacity values;
 * when that fills, the `capacity` largest are kept (one sort, so the cost per value stays constant on
 * average, unlike a scan for the smallest counter on every miss) and a value seen afterwards starts at the
 * largest count dropped, as in Space-Saving (Metwally et al.): counts are upper bounds, over by at most
 * `floor`, and any value more frequent than that is kept. Exact while a column has few distinct values.
 */
export class TopValues {
  private counts = new Map<string, number>();
  private floor = 0;

  constructor(private readonly capacity: number) {}

  add(v: string): void {
    const c = this.counts.get(v);
    if (c !== undefined) {
      this.counts.set(v, c + 1);
      return;
    }
    if (this.counts.size >= this.capacity * 2) this.prune();
    this.counts.set(v, this.floor + 1);
  }

  top(n: number): { value: string; count: number }[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }

  /** True while every count is exact (no value was ever dropped). */
  get isExact(): boolean {
    return this.floor === 0;
  }

  private prune() {
    const sorted = [...this.counts.entries()].sort((a, b) => b[1] - a[1]);
    this.floor = Math.max(this.floor, sorted[this.capacity]?.[1] ?? 0);
    this.counts = new Map(sorted.slice(0, this.capacity));
  }
}
