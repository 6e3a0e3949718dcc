/**
 * What the gateway sends the orchestrator over the service binding, and what comes back. The call is
 * validated with zod on the orchestrator side too: a service binding is still a trust boundary between
 * two deployables that can be released independently.
 */
import { z } from "zod";
import { ChatCompletionRequestSchema, type ChatCompletion } from "./openai.js";
import type { SerializedApiError } from "../errors.js";

export const CallContextSchema = z.object({
  requestId: z.string().min(1),
  tenantId: z.string().min(1),
  keyId: z.string().min(1),
});
export type CallContext = z.infer<typeof CallContextSchema>;

/**
 * `leaseId` is the concurrency slot the gateway reserved; once the call is accepted the orchestrator owns
 * it and settles it (with the tokens used) when the answer is complete, streamed answers included.
 */
export const ChatCallSchema = CallContextSchema.extend({ body: ChatCompletionRequestSchema, leaseId: z.string().optional() });
export type ChatCall = z.infer<typeof ChatCallSchema>;

/** `upstreamMs` is the time spent waiting on models and tools, so the gateway can report its own overhead. */
export type ChatReply =
  | { kind: "json"; completion: ChatCompletion; upstreamMs: number }
  | { kind: "stream"; body: ReadableStream<Uint8Array>; upstreamMs: number }
  | { kind: "error"; error: SerializedApiError; upstreamMs: number };

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}
