/** The Worker's settings, read and validated once from env. */
import { z } from "zod";
import { AllowListSchema } from "../../../../lib/tools/allow-list.js";

export interface Env {
  HTTP_JSON_ALLOW?: string;
  HTTP_JSON_MAX_BYTES?: string;
  HTTP_JSON_MAX_STEPS?: string;
}

const SettingsSchema = z.object({
  allow: AllowListSchema,
  /** Bytes of response body read; also the most characters of JSON a reshaped result may come to. */
  maxBytes: z.coerce.number().int().positive().default(1_000_000),
  /** Redirects followed (each target re-checked against the allow-list). */
  maxRedirects: z.number().int().default(3),
  /** A 429 asking for a longer wait (Retry-After) is not retryable: the model hears when to try again. */
  retryAfterMaxMs: z.number().int().default(2_000),
  /** Characters of the reshaped JSON put in `content`; the whole result is always in `data`. */
  maxContentChars: z.number().int().default(4_000),
  /**
   * Largest width pad_left/pad_right and largest count replace may be given: the library allocates that
   * much, so pad_left('a', `200000000`) alone would fill the isolate's memory.
   */
  maxSizeArgument: z.number().int().default(1_000),
  /**
   * How many times maxBytes of JSON any value an expression builds on the way may come to (a repeated
   * sub-value counted each time): room for a few copies of the document, not for doubling it again and again.
   */
  intermediateFactor: z.number().int().default(4),
  /**
   * Steps an expression's evaluation may take: a node evaluated, plus one per 16 characters of JSON of its
   * value (reshape.ts). It runs synchronously, so this, not the deadline, is what stops one whose work is
   * exponential. A step takes about 0.2 µs in workerd, so the default is under half a second of CPU, and
   * leaves room to filter and reshape a whole document of HTTP_JSON_MAX_BYTES several times over.
   */
  maxSteps: z.coerce.number().int().positive().default(2_000_000),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  return SettingsSchema.parse({
    allow: env.HTTP_JSON_ALLOW,
    maxBytes: env.HTTP_JSON_MAX_BYTES || undefined,
    maxSteps: env.HTTP_JSON_MAX_STEPS?.trim() || undefined,
  });
}
