/**
 * Reads `read` until `ok` holds or `ms` have passed, and returns the last value read: the caller's own
 * assertion on it then says what was expected, rather than a bare timeout.
 */
export async function eventually<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}
