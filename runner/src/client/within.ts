/** Waiting with a time limit. */

/** `p`'s value, or null when it takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([p, expiry]).finally(() => clearTimeout(timer));
}
