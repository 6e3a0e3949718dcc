/**
 * Speech to text with Whisper, from base64 audio or an audio URL, with a size limit on both. A URL is
 * fetched only under MEDIA_AUDIO_ALLOW, through the same checked redirects and streamed size limit as
 * http-json: the caller names it, so it could otherwise reach internal addresses or never end. The
 * transcript's tokens are reported as spent (`ctx.spent`), for the orchestrator to book to the tenant.
 */
import { z } from "zod";
import { transcriptUsage } from "../../../../lib/ai/token-estimates.js";
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { fetchAllowed, readLimited } from "../../../../lib/tools/fetch-allowed.js";
import { refusalReason } from "../../../../lib/tools/refusal-reason.js";
import { ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { runModel } from "./ai.js";
import type { Env, Settings } from "./settings.js";

const WhisperOutputSchema = z.object({
  text: z.string(),
  word_count: z.number().optional(),
  vtt: z.string().optional(),
});

export async function transcribe(
  env: Env,
  settings: Settings,
  input: { audioBase64?: string; audioUrl?: string },
  ctx: ToolContext,
): Promise<ToolResult> {
  const audio = input.audioUrl
    ? await download(new URL(input.audioUrl), settings, ctx)
    : decodeBase64(input.audioBase64 ?? "", settings.maxAudioBytes);
  const model = settings.sttModel;
  const output = WhisperOutputSchema.safeParse(await runModel(env.AI, model, whisperInput(model, audio), ctx.signal));
  // Whisper reports no usage: its transcript is counted as a chat's answer would be (the call bills either way).
  ctx.spent(model, transcriptUsage(output.success ? output.data.text : ""));
  if (!output.success) throw new ToolFailure("ai_bad_output", "the speech model answered without a transcript", true);
  const text = output.data.text.trim();
  const content = text ? `Transcript: ${text}` : "The audio contains no recognisable speech.";
  return toolOk(content, { text, wordCount: output.data.word_count, vtt: output.data.vtt, model, audioBytes: audio.byteLength });
}

/**
 * @cf/openai/whisper takes the bytes only as a number array (the binding sends its inputs as JSON), which
 * is why MEDIA_MAX_AUDIO_BYTES defaults low; whisper-large-v3-turbo takes base64, a sixth of the memory.
 */
function whisperInput(model: string, audio: Uint8Array): Record<string, unknown> {
  if (model.includes("large-v3-turbo")) return { audio: toBase64(audio) };
  return { audio: Array.from(audio) };
}

/** In slices, because spreading megabytes into String.fromCharCode overflows the stack. */
function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function decodeBase64(b64: string, maxBytes: number): Uint8Array {
  // 4 base64 characters carry 3 bytes; refuse before decoding rather than after.
  if ((b64.length * 3) / 4 > maxBytes + 3) throw tooLarge(maxBytes);
  try {
    return Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new ToolFailure("invalid_audio", "audioBase64 is not valid base64");
  }
}

async function download(url: URL, settings: Settings, ctx: ToolContext): Promise<Uint8Array> {
  const { res } = await fetchAllowed(url, {
    allow: settings.audioAllow,
    setting: "MEDIA_AUDIO_ALLOW",
    maxRedirects: settings.maxRedirects,
    signal: ctx.signal,
    userAgent: ctx.userAgent,
  });
  if (!res.ok) {
    const why = await refusalReason(res);
    const retryable = res.status === 429 || res.status >= 500;
    const message = `fetching the audio failed with HTTP ${res.status}${why ? `: ${why}` : ""}`;
    throw new ToolFailure("audio_unavailable", message, retryable);
  }
  return readLimited(res, settings.maxAudioBytes, () => tooLarge(settings.maxAudioBytes));
}

const tooLarge = (maxBytes: number) => new ToolFailure("audio_too_large", `the audio is larger than ${maxBytes} bytes`);
