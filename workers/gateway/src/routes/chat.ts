import { ApiError } from "../../../../lib/errors.js";
import { dispose } from "../../../../lib/rpc.js";
import { SSE_HEADERS } from "../../../../lib/http/sse.js";
import { ChatCompletionRequestSchema, ChatCompletionSchema, type ChatReply } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { requireSessionScope } from "./session-ref.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router } from "../validation.js";
import { errorBody, keyRoute } from "./openapi.js";

const route = keyRoute("post", "/v1/chat/completions", "Create a chat completion (OpenAI-compatible; `stream: true` answers with server-sent events)", {
  middleware: [requireScope("chat"), rateLimit()] as const,
  request: { body: { required: true, content: { "application/json": { schema: ChatCompletionRequestSchema } } } },
  responses: {
    200: {
      description: "A completion, or a stream of chunks when `stream` is true",
      content: { "application/json": { schema: ChatCompletionSchema }, "text/event-stream": { schema: { type: "string" } } },
    },
    403: errorBody("The tenant is suspended, or the key lacks the 'chat' scope (or the 'sessions' scope session_id needs)"),
    404: errorBody("model_not_found, or session_not_found for session_id"),
    409: errorBody("turn_in_progress: a turn is already running in the session"),
    429: errorBody("A rate or concurrency limit or the daily token budget is reached, or the model upstream is rate limiting"),
    501: errorBody("no_model_provider: the request needs a language model this deployment does not have"),
    502: errorBody("The model upstream failed, or answered in text where tool_choice asks for a call"),
    504: errorBody("The model upstream, the turn or the council did not answer in time"),
  },
});

export const chat = router().openapi(route, async (c) => {
  const auth = c.get("auth");
  // A session's history is read into the call and the turn written to it (the orchestrator looks it up).
  requireSessionScope(auth, c.req.valid("json").session_id);
  // RPC typing cannot map zod's loose objects (index signatures), so the reply is typed by its declaration.
  const reply = (await c.env.ORCHESTRATOR.chat({
    requestId: c.get("requestId"),
    tenantId: auth.tenantId,
    keyId: auth.keyId,
    body: c.req.valid("json"),
    leaseId: c.get("lease")?.id,
  })) as unknown as ChatReply;
  const lease = c.get("lease");
  if (lease) lease.handedOver = true;
  c.set("upstreamMs", reply.upstreamMs);
  // A finished reply is plain data: releasing it at once ends the RPC call instead of leaving that to the GC.
  // A stream's reply is kept, as its body is still being read.
  if (reply.kind !== "stream") dispose(reply);
  if (reply.kind === "error") throw ApiError.from(reply.error);
  if (reply.kind === "json") return c.json(reply.completion, 200);
  // A session's turn goes on when its caller leaves (it is recorded into the session) and frees the slot when
  // it ends: freeing it at the client's disconnect let a key run turns past its concurrency limit.
  const guarded = lease && c.req.valid("json").session_id === undefined;
  return new Response(guarded ? releasedOnBreak(reply.body, lease, c.executionCtx) : reply.body, { status: 200, headers: SSE_HEADERS }) as never;
});

/**
 * The orchestrator frees a stream's slot when the stream ends, but a stream that breaks because its isolate
 * died (a memory limit, a crash) never ends there: the slot stayed taken until CIO_LEASE_TTL_MS (15 min), and a
 * key whose streams were all in that isolate was refused until then. So a stream that does not finish frees its
 * slot from here too (a second free is a no-op; a client that left makes it break too, harmlessly, as the
 * orchestrator then cancels the upstream call; not so a session's turn, which is left to free its own). A native
 * pipe into an identity stream: no JavaScript runs per chunk on the passthrough path.
 */
function releasedOnBreak(body: ReadableStream<Uint8Array>, lease: { release: () => Promise<unknown> }, ctx: { waitUntil(p: Promise<unknown>): void }) {
  const { readable, writable } = new IdentityTransformStream();
  ctx.waitUntil(body.pipeTo(writable).catch(() => lease.release()));
  return readable;
}
