/**
 * The most frequent values of a column in bounded memory: the Space-Saving algorithm (Metwally et al.)
 * keeps `capacity` counters; any value more frequent than n/capacity is guaranteed to be among them, and
 * each count is over by at most the `error` it carries. Exact while a column has fewer distinct values.
 */
export class TopValues {
  private counts = new Map<string, { count: number; error: number }>();
  private exact = true;

  constructor(private readonly capacity: number) {}

  add(v: string): void {
    const hit = this.counts.get(v);
    if (hit) {
      hit.count++;
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(v, { count: 1, error: 0 });
      return;
    }
    this.exact = false;
    let minKey = "";
    let min = Infinity;
    for (const [k, c] of this.counts) if (c.count < min) (min = c.count), (minKey = k);
    this.counts.delete(minKey);
    this.counts.set(v, { count: min + 1, error: min });
  }

  top(n: number): { value: string; count: number }[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([value, c]) => ({ value, count: c.count }));
  }

  /** True while every count is exact (fewer distinct values than counters so far). */
  get isExact(): boolean {
    return this.exact;
  }
}
