/** The Worker's settings, read and validated once from env. */
import { z } from "zod";

export interface Env {
  BINANCE_BASE_URL?: string;
}

const SettingsSchema = z.object({
  baseUrl: z.url().default("https://api.binance.com"),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  return SettingsSchema.parse({ baseUrl: env.BINANCE_BASE_URL || undefined });
}
