/**
 * Tokens of work that has begun and is booked only when it ends: an image task, whose price is known before
 * the model runs and which is booked once the model answered (it bills then). The daily budget counts them,
 * so work begun together cannot all pass a budget that the first of them spends: checked against what was
 * booked alone, the four image tasks of one consumer batch all passed a budget of 1000 and booked 4016 tokens.
 * Kept in memory; the object stays resident while one is held (residency.ts).
 */
export class TokenHolds {
  private holds = new Map<string, { tokens: number; expires: number }>();

  /** Holds `tokens` until `end`, or until `expires` for work that died without ending its hold. */
  add(tokens: number, expires: number): string {
    // Random, not a counter: a hold lost with an earlier life of the object must not end a new one.
    const id = crypto.randomUUID();
    this.holds.set(id, { tokens, expires });
    return id;
  }

  end(id: string): boolean {
    return this.holds.delete(id);
  }

  /** The tokens held at `now`; read on every admission under a budget, so free while nothing is held. */
  total(now: number): number {
    let n = 0;
    for (const [id, h] of this.holds) {
      if (h.expires <= now) this.holds.delete(id);
      else n += h.tokens;
    }
    return n;
  }

  /** When the last hold expires (0 if none is held). */
  latestExpiry(): number {
    let t = 0;
    for (const h of this.holds.values()) t = Math.max(t, h.expires);
    return t;
  }
}
