/** The Worker's settings, read and validated once from env. */
import { z } from "zod";

export interface Env {
  HTTP_JSON_ALLOW?: string;
  HTTP_JSON_MAX_BYTES?: string;
}

const SettingsSchema = z.object({
  allow: z.array(z.url({ protocol: /^https?$/ })),
  maxBytes: z.coerce.number().int().positive().default(1_000_000),
  /** Redirects followed (each target re-checked against the allow-list). */
  maxRedirects: z.number().int().default(3),
  /** Characters of the reshaped JSON put in `content`; the whole result is always in `data`. */
  maxContentChars: z.number().int().default(4_000),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  const allow = (env.HTTP_JSON_ALLOW ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return SettingsSchema.parse({ allow, maxBytes: env.HTTP_JSON_MAX_BYTES || undefined });
}
