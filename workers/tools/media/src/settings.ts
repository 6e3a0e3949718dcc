/** The Worker's settings and bindings, read and validated once from env. */
import { z } from "zod";
import type { AiRunner } from "../../../../lib/ai/workers-ai.js";

export interface Env {
  AI: AiRunner;
  MEDIA_BUCKET: R2Bucket;
  MEDIA_IMAGE_MODEL?: string;
  MEDIA_STT_MODEL?: string;
  MEDIA_PUBLIC_BASE_URL?: string;
  MEDIA_MAX_AUDIO_BYTES?: string;
}

const SettingsSchema = z.object({
  imageModel: z.string().default("@cf/black-forest-labs/flux-1-schnell"),
  sttModel: z.string().default("@cf/openai/whisper"),
  /** Always ends with "/" so keys append cleanly. */
  publicBaseUrl: z
    .url()
    .transform((u) => (u.endsWith("/") ? u : `${u}/`))
    .optional(),
  maxAudioBytes: z.coerce.number().int().positive().default(10_000_000),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  return SettingsSchema.parse({
    imageModel: env.MEDIA_IMAGE_MODEL || undefined,
    sttModel: env.MEDIA_STT_MODEL || undefined,
    publicBaseUrl: env.MEDIA_PUBLIC_BASE_URL || undefined,
    maxAudioBytes: env.MEDIA_MAX_AUDIO_BYTES || undefined,
  });
}
