/**
 * Workers RPC results hold their call open until disposed; an undisposed one keeps the Durable Object
 * it reached referenced (an idle object could not even be evicted). Our results are plain data, so
 * callers release them at once.
 */
const DISPOSE: symbol | undefined = (Symbol as unknown as { dispose?: symbol }).dispose;

export async function released<T>(call: Promise<T>): Promise<T> {
  const result = await call;
  dispose(result);
  return result;
}

/** Releases an RPC result now (a no-op for values that are not RPC results). */
export function dispose(result: unknown): void {
  const fn = DISPOSE && result && typeof result === "object" ? (result as Record<symbol, unknown>)[DISPOSE] : undefined;
  if (typeof fn === "function") fn.call(result);
}
