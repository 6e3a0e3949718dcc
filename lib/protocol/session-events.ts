/**
 * Events that other parts of the system publish into a chat session (SessionDO), which stamps each with
 * its `seq` and relays it to every socket on the session. Tasks (queues/) and councils publish through
 * `publishToSession`; the session's RPC method `publish(event)` is the receiving end.
 */
import { z } from "zod";
import { scopedName } from "../do-names.js";
import type { SessionRef } from "./session.js";

export const TaskEventSchema = z.object({
  type: z.literal("task"),
  task_id: z.string().min(1),
  task_type: z.string().optional(),
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]),
  /** 0..1 */
  progress: z.number().min(0).max(1),
  eta_s: z.number().nonnegative().optional(),
  /** Short human-readable outcome; bulk results stay in R2 and are referenced. */
  summary: z.string().optional(),
  result_url: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type TaskEvent = z.infer<typeof TaskEventSchema>;

export const CouncilPositionSchema = z.object({
  assistant: z.string(),
  option: z.string(),
  confidence: z.number().min(0).max(1),
  reasoning: z.string(),
  weight: z.number().nonnegative().optional(),
});

export const CouncilEventSchema = z.object({
  type: z.literal("council"),
  council_id: z.string().min(1),
  status: z.enum(["running", "round_finished", "consensus", "awaiting_human", "decided", "failed"]),
  round: z.number().int().nonnegative().optional(),
  question: z.string().optional(),
  options: z.array(z.string()).optional(),
  positions: z.array(CouncilPositionSchema).optional(),
  decision: z.string().optional(),
  summary: z.string().optional(),
});
export type CouncilEvent = z.infer<typeof CouncilEventSchema>;

export const SessionEventSchema = z.discriminatedUnion("type", [TaskEventSchema, CouncilEventSchema]);
export type SessionEvent = z.infer<typeof SessionEventSchema>;

/** The one name scheme of session objects: derived from the tenant, so no tenant can name another's. */
export const sessionObjectName = (tenantId: string, sessionId: string) => scopedName(tenantId, "session", sessionId);

/**
 * What SessionDO offers publishers over RPC. Returns the seq the event was given, or null if the session is
 * gone or is not `ref`'s (the object's name already derives from the tenant; this is the check behind it).
 */
export interface SessionPublisher {
  publish(ref: SessionRef, event: SessionEvent): Promise<{ seq: number } | null>;
}

/**
 * Publish into a tenant's session. A Worker without the SESSIONS binding, or a call without a session,
 * publishes nothing; a failure is the caller's to log (the task or council itself is not affected).
 */
export async function publishToSession<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T> | undefined,
  tenantId: string,
  sessionId: string | null | undefined,
  event: SessionEvent,
): Promise<{ seq: number } | null> {
  if (!ns || !sessionId) return null;
  const stub = ns.get(ns.idFromName(sessionObjectName(tenantId, sessionId))) as unknown as SessionPublisher;
  return stub.publish({ tenantId, sessionId }, SessionEventSchema.parse(event));
}
