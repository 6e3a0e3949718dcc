/** Reading a "not now" answer's wait, for the gateway, the model client and the tool Workers (no hono here). */

/** The wait a response asks for (retry-after-ms, else retry-after in seconds or as an HTTP date), or null. */
export function retryDelayMs(h: Headers, now = Date.now()): number | null {
  const ms = Number(h.get("retry-after-ms")?.trim() || NaN);
  if (Number.isFinite(ms)) return Math.max(0, Math.round(ms));
  const after = h.get("retry-after")?.trim();
  if (!after) return null;
  const delta = /^\d+(\.\d+)?$/.test(after) ? Number(after) * 1000 : Date.parse(after) - now;
  return Number.isFinite(delta) ? Math.max(0, Math.round(delta)) : null;
}
