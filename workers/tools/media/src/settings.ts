/** The Worker's settings and bindings, read and validated once from env. */
import { z } from "zod";
import type { AiRunner } from "../../../../lib/ai/workers-ai.js";
import { AllowListSchema } from "../../../../lib/tools/allow-list.js";

export interface Env {
  AI: AiRunner;
  MEDIA_BUCKET: R2Bucket;
  MEDIA_IMAGE_MODEL?: string;
  MEDIA_IMAGE_TOKENS?: string;
  MEDIA_STT_MODEL?: string;
  MEDIA_PUBLIC_BASE_URL?: string;
  MEDIA_MAX_AUDIO_BYTES?: string;
  MEDIA_AUDIO_ALLOW?: string;
}

const SettingsSchema = z.object({
  imageModel: z.string().default("@cf/black-forest-labs/flux-1-schnell"),
  sttModel: z.string().default("@cf/openai/whisper"),
  /**
   * Tokens a picture counts as in the tenant's usage and against its daily budget, plus its prompt's (the
   * heavy consumer's CIO_IMAGE_TOKENS for image tasks): reported with each picture, and declared in the
   * manifest as what a call spends, which the dispatcher holds against the budget while the call runs.
   */
  imageTokens: z.coerce.number().int().min(0).max(1_000_000).default(1_000),
  /** Always ends with "/" so keys append cleanly. */
  publicBaseUrl: z
    .url()
    .transform((u) => (u.endsWith("/") ? u : `${u}/`))
    .optional(),
  /**
   * @cf/openai/whisper takes the audio as a JSON array of numbers: each byte costs about 18 bytes of
   * memory on the way out (the array, its JSON text, the request body, plus the base64 and bytes it came
   * from), so 4 MB peaks near 75 MB of the isolate's 128 MB. whisper-large-v3-turbo takes base64 (about
   * 6 bytes per byte) and can be given about 10 MB.
   */
  maxAudioBytes: z.coerce.number().int().positive().default(4_000_000),
  /** URL prefixes audioUrl may point under (HTTP_JSON_ALLOW's format); empty refuses every URL. */
  audioAllow: AllowListSchema,
  /** Redirects of an audio URL followed, each target re-checked against the allow-list. */
  maxRedirects: z.number().int().default(3),
  /** Writes of a generated image to R2 tried at most (the picture is paid for: a failed write is retried, not the call). */
  storeAttempts: z.number().int().min(1).default(3),
  /** Base of the backoff (with full jitter) between those writes. */
  storeRetryBaseMs: z.number().int().default(100),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function settingsFrom(env: Env): Settings {
  return SettingsSchema.parse({
    imageModel: env.MEDIA_IMAGE_MODEL || undefined,
    sttModel: env.MEDIA_STT_MODEL || undefined,
    imageTokens: env.MEDIA_IMAGE_TOKENS?.trim() || undefined,
    publicBaseUrl: env.MEDIA_PUBLIC_BASE_URL || undefined,
    maxAudioBytes: env.MEDIA_MAX_AUDIO_BYTES || undefined,
    audioAllow: env.MEDIA_AUDIO_ALLOW,
  });
}
