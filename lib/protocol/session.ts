/**
 * Chat sessions on the wire: the REST bodies of /v1/sessions, the WebSocket frames both ways, and the RPC
 * calls between the gateway and SessionDO. Every frame a socket sends is validated against these schemas.
 */
import { z } from "zod";
import { ChatCompletionRequestSchema, CustomToolCallSchema, ToolCallSchema } from "./openai.js";
import { PageQuerySchema } from "./page.js";
import { CouncilEventSchema, TaskEventSchema } from "./session-events.js";

// ---- REST ----

export const CreateSessionSchema = z
  .strictObject({
    title: z.string().max(200).optional(),
    /** The model each turn uses unless a `chat` frame names another. */
    model: z.string().min(1).max(200).optional(),
  })
  .meta({ id: "CreateSession" });
export type CreateSession = z.infer<typeof CreateSessionSchema>;

export const SessionSchema = z
  .object({
    id: z.string(),
    object: z.literal("session"),
    title: z.string().nullable(),
    model: z.string(),
    created_at: z.number().int(),
    last_active_at: z.number().int(),
    /** The seq of the last event in the session's log (0 when empty). */
    last_seq: z.number().int().nonnegative(),
  })
  .meta({ id: "Session" });
export type Session = z.infer<typeof SessionSchema>;

/**
 * Where a session's turn is. Only the messages of a turn that succeeded (or is running: its own input) are sent
 * to the model again; those of a failed or cancelled one stay listed, but the turn did not happen for the model.
 */
export const TurnStatusSchema = z.enum(["running", "succeeded", "failed", "cancelled"]);
export type TurnStatus = z.infer<typeof TurnStatusSchema>;

/**
 * A tool call as a session keeps it: OpenAI's function or custom (free-form) call, with only the fields OpenAI
 * defines (it crosses RPC as it is, and RPC's types cannot carry a loose object's unknown fields).
 */
const StoredToolCallSchema = z.discriminatedUnion("type", [
  ToolCallSchema.extend({ function: ToolCallSchema.shape.function.strip() }).strip(),
  CustomToolCallSchema.extend({ custom: CustomToolCallSchema.shape.custom.strip() }).strip(),
]);
export type StoredToolCall = z.infer<typeof StoredToolCallSchema>;

export const SessionMessageSchema = z
  .object({
    /** The turn this message belongs to (the `chat` frame's id, or the request id of a chat completion). */
    id: z.string(),
    object: z.literal("session.message"),
    seq: z.number().int().positive(),
    role: z.enum(["system", "developer", "user", "assistant", "tool"]),
    content: z.string(),
    /** An answer that called the client's tools: the calls, which the next turn's `tool` messages answer. */
    tool_calls: z.array(StoredToolCallSchema).optional(),
    /** A `tool` message: the call it answers. */
    tool_call_id: z.string().optional(),
    /**
     * Its turn's status. A failed or cancelled turn's messages (its input; it has no answer) are not part of
     * the conversation the model sees: resending them is a retry, not a repeat.
     */
    turn_status: TurnStatusSchema,
    created_at: z.number().int(),
  })
  .meta({ id: "SessionMessage" });
export type SessionMessage = z.infer<typeof SessionMessageSchema>;
/** A message as the session keeps it and hands it to the model: its role, text and tool-call links. */
export type StoredMessage = Pick<SessionMessage, "role" | "content" | "tool_calls" | "tool_call_id">;

export const ListSessionsQuerySchema = PageQuerySchema;
/** A session's messages are paged by their seq, not an id. */
export const ListMessagesQuerySchema = PageQuerySchema.extend({ after: z.coerce.number().int().nonnegative().default(0) });

export const TicketSchema = z.object({ ticket: z.string(), expires_at: z.number().int() }).meta({ id: "SessionTicket" });

// ---- WebSocket: client → server ----

const turnId = z.string().min(1).max(128);

export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("chat"), id: turnId, content: z.string().min(1), model: z.string().min(1).max(200).optional() }),
  z.strictObject({ type: z.literal("resume"), after_seq: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal("cancel"), id: turnId }),
  z.strictObject({ type: z.literal("ping") }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** The exact ping the runtime answers itself, without waking the object (setWebSocketAutoResponse). */
export const SESSION_PING = '{"type":"ping"}';
export const SESSION_PONG = '{"type":"pong"}';

// ---- WebSocket: server → client ----

const seq = z.number().int().positive();
/**
 * On a turn's `message` and `error` events: the request id its answer is recorded under, which POST /v1/feedback
 * rates it by (a socket's turn: the upgrade's x-request-id, a dot and the turn id; a chat completion's: its own).
 */
const request_id = z.string().optional();

/** Events of the session's log: each carries its seq and is replayed on `resume`. */
export const LoggedEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("delta"), id: z.string(), seq, text: z.string() }),
  z.object({
    type: z.literal("tool"),
    id: z.string(),
    seq,
    name: z.string(),
    status: z.enum(["ok", "error"]),
    latency_ms: z.number().nonnegative(),
  }),
  z.object({ type: z.literal("message"), id: z.string(), seq, request_id, role: z.string(), content: z.string() }),
  TaskEventSchema.extend({ seq }),
  CouncilEventSchema.extend({ seq }),
  /** A turn's failure (`id` set) is logged; a refused frame is not (no seq). */
  z.object({ type: z.literal("error"), seq, id: z.string().optional(), request_id, code: z.string(), message: z.string() }),
]);
export type LoggedEvent = z.infer<typeof LoggedEventSchema>;
/** Any logged event before it is given its seq. */
export type NewEvent = LoggedEvent extends infer E ? (E extends LoggedEvent ? Omit<E, "seq"> : never) : never;

export type ServerFrame =
  | { type: "ready"; session_id: string; last_seq: number }
  | { type: "pong" }
  /**
   * `min_after_seq`: on `resume_too_old`, the lowest after_seq a resume may give. `next_after_seq`: on
   * `replay_incomplete`, the seq of the last event the replay sent, which the next resume gives as after_seq.
   */
  | { type: "error"; code: string; message: string; id?: string; min_after_seq?: number; next_after_seq?: number }
  | LoggedEvent;

// ---- RPC between the gateway and SessionDO ----

export const SessionRefSchema = z.object({ tenantId: z.string().min(1), sessionId: z.string().min(1) });
export type SessionRef = z.infer<typeof SessionRefSchema>;

export const CreateSessionCallSchema = SessionRefSchema.extend({ title: z.string().nullable(), model: z.string().min(1) });
export type CreateSessionCall = z.infer<typeof CreateSessionCallSchema>;

/** A chat completion with `session_id`, as the orchestrator hands it to the session. */
export const SessionChatCallSchema = z.object({
  requestId: z.string().min(1),
  tenantId: z.string().min(1),
  keyId: z.string().min(1),
  leaseId: z.string().optional(),
  body: ChatCompletionRequestSchema.safeExtend({ session_id: z.string().min(1) }),
});

/** Headers the gateway puts on the WebSocket upgrade it forwards to the session. */
export const SOCKET_HEADERS = {
  tenant: "x-cio-tenant-id",
  session: "x-cio-session-id",
  key: "x-cio-key-id",
  request: "x-request-id",
  /** The key's rate limits and budget (JSON, SocketLimitsSchema): each `chat` turn is admitted against them. */
  limits: "x-cio-limits",
  /** "1" when the key has the `chat` scope: a socket of a key without it may listen, not start turns. */
  mayChat: "x-cio-may-chat",
} as const;

/**
 * What a request is admitted against (the tenant's RateLimiterDO): the limits come from the key, the tenant
 * and the defaults. A session socket carries its key's limits so every turn is admitted like a request.
 */
export const AdmissionLimitsSchema = z.object({
  keyRpm: z.number().int().positive(),
  keyConcurrency: z.number().int().positive(),
  tenantRpm: z.number().int().positive(),
  tenantConcurrency: z.number().int().positive(),
  dailyTokenBudget: z.number().int().positive().nullable(),
  /** A lease not released by then is dropped, so a crashed gateway isolate cannot leak concurrency. */
  leaseTtlMs: z.number().int().positive(),
});
export type AdmissionLimits = z.infer<typeof AdmissionLimitsSchema>;

/** What a key's limits fall back to where neither the key nor its tenant sets one (the gateway's settings). */
export const LimitDefaultsSchema = AdmissionLimitsSchema.pick({ keyRpm: true, keyConcurrency: true, tenantRpm: true, tenantConcurrency: true });
export type LimitDefaults = z.infer<typeof LimitDefaultsSchema>;

/**
 * The x-cio-limits header: the limits the gateway admitted the upgrade with, and the defaults it resolved
 * them with, so the session resolves the key's current limits the same way when it re-reads them from D1.
 * A gateway deployed before the session re-read limits sends no `defaults`.
 */
export const SocketLimitsSchema = AdmissionLimitsSchema.extend({ defaults: LimitDefaultsSchema.optional() });
export type SocketLimits = z.infer<typeof SocketLimitsSchema>;
