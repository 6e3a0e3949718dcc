/**
 * Token counts for work no model counted: the budget and the usage rows count tokens. Pure arithmetic, so
 * the tool Workers (which report what they spend, see ToolUsageSchema) use it without our storage.
 */
import type { Usage } from "../protocol/openai.js";

/** A rough token count (about four characters a token) for text no model counted: providers that report no usage, image prompts. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/**
 * An image as tokens: an image model bills per picture. The prompt is counted as a chat's would be
 * (estimateTokens) and the picture as `imageTokens`.
 */
export function imageUsage(prompt: string, imageTokens: number): Usage {
  const prompt_tokens = estimateTokens(prompt);
  return { prompt_tokens, completion_tokens: imageTokens, total_tokens: prompt_tokens + imageTokens };
}

/** A transcript as tokens: speech models report no usage, so what they wrote is counted as a chat's answer would be. */
export function transcriptUsage(text: string): Usage {
  const completion_tokens = estimateTokens(text);
  return { prompt_tokens: 0, completion_tokens, total_tokens: completion_tokens };
}
