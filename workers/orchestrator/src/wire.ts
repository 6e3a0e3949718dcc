/**
 * Builders for OpenAI response objects, used by every pipeline that produces its own answer (builtin,
 * the agent loop) so they all speak the same wire format as a passthrough model. The null `refusal` and
 * `logprobs` are OpenAI's own: typed clients (the Python SDK's models, Go's structs) read them as present.
 */
import type { ChatCompletion, ChatCompletionChunk, Usage } from "../../../lib/protocol/index.js";
import { estimateTokens } from "../../../lib/ai/token-estimates.js";

/**
 * Made here, never from the request id: a client sets x-request-id (and a proxy may reuse one), so ids built
 * from it came out as `chatcmpl-a`, or the same for two answers. The request id travels in x-request-id, in
 * our logs and to the upstream (x-client-request-id).
 */
export const completionId = () => `chatcmpl-${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * What every chunk of one answer carries alike, as OpenAI stamps them: its id, model and creation time. Taken
 * once per answer: stamped per chunk, `created` moved on between the chunks of a stream that crossed a second.
 */
export interface AnswerStamp {
  id: string;
  model: string;
  created: number;
}

export const answerStamp = (model: string): AnswerStamp => ({ id: completionId(), model, created: nowSeconds() });

export function completion(s: AnswerStamp, text: string, usage: Usage, extra: object = {}): ChatCompletion {
  return {
    id: s.id,
    object: "chat.completion",
    created: s.created,
    model: s.model,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage,
    ...extra,
  };
}

export function chunk(s: AnswerStamp, delta: ChatCompletionChunk["choices"][number]["delta"], finish: string | null = null): ChatCompletionChunk {
  return {
    id: s.id,
    object: "chat.completion.chunk",
    created: s.created,
    model: s.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

export const usageChunk = (s: AnswerStamp, usage: Usage): ChatCompletionChunk => ({
  id: s.id,
  object: "chat.completion.chunk",
  created: s.created,
  model: s.model,
  choices: [],
  usage,
});

export function usageOf(prompt: string, answer: string): Usage {
  const prompt_tokens = estimateTokens(prompt);
  const completion_tokens = answer ? estimateTokens(answer) : 0;
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}
