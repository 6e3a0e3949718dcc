/**
 * Settings are read from `env` once per Worker isolate and validated with zod, so a bad deployment fails
 * loudly at the first request instead of misbehaving later, and no limit is a literal buried in code.
 */
import { z } from "zod";

const cache = new WeakMap<object, Map<z.ZodType, unknown>>();

export function loadSettings<S extends z.ZodType>(schema: S, env: object): z.infer<S> {
  let perEnv = cache.get(env);
  if (!perEnv) cache.set(env, (perEnv = new Map()));
  if (perEnv.has(schema)) return perEnv.get(schema) as z.infer<S>;
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  perEnv.set(schema, parsed.data);
  return parsed.data;
}

/** Helpers for env vars, which always arrive as strings (or are absent). */
export const envInt = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
export const envList = () =>
  z
    .string()
    .default("")
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
export const envOptionalString = () =>
  z
    .string()
    .optional()
    .transform((s) => (s && s.trim() ? s.trim() : undefined));
export const envLogLevel = () => z.enum(["debug", "info", "warn", "error"]).default("info");
