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

/**
 * Helpers for env vars, which always arrive as strings (or are absent). A var set to nothing (`NAME=` in
 * `.env`, which `npm start` copies into every `.dev.vars`; a var left empty in the dashboard) means unset:
 * its default, not what coercing "" gives (0, which several settings read as "off" or "forever").
 */
export const envValue = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === "string" && !v.trim() ? undefined : v), schema);
export const envInt = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  envValue(z.coerce.number().int().min(min).max(max).default(def));
export const envNumber = (def: number, min: number, max: number) => envValue(z.coerce.number().min(min).max(max).default(def));
export const envList = () =>
  envValue(
    z
      .string()
      .default("")
      .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
  );
export const envOptionalString = () => envValue(z.string().transform((s) => s.trim()).optional());
/**
 * A credential callers send as `Authorization: Bearer <token>`, which the API reads up to the first space: one
 * holding a space or anything but printable ASCII could never authenticate, so it is refused as configuration.
 */
export const envBearerToken = () =>
  envValue(
    z
      .string()
      .trim()
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII with no spaces: a bearer token is read up to the first space, so this one could never authenticate")
      .optional(),
  );
export const envLogLevel = () => envValue(z.enum(["debug", "info", "warn", "error"]).default("info"));
