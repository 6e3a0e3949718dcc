/** The Worker's settings, read and validated once from env. */
import { z } from "zod";

export interface Env {
  BRAVE_API_KEY?: string;
  BRAVE_BASE_URL?: string;
}

const SettingsSchema = z.object({
  apiKey: z.string().min(1).optional(),
  baseUrl: z.url().default("https://api.search.brave.com"),
  /** A 429 asking for a longer wait (Retry-After) is not retryable: the model hears when to try again. */
  retryAfterMaxMs: z.number().int().default(2_000),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  return SettingsSchema.parse({ apiKey: env.BRAVE_API_KEY || undefined, baseUrl: env.BRAVE_BASE_URL || undefined });
}
