/**
 * `cio/council`: a chat question answered by a council. The council runs in its CouncilDO (driven by its
 * alarm, so it outlives this request); this pipeline follows it with long-polls and streams one line per
 * finished round, then the decision or the escalation. A council that fails is the answer's error, not its
 * text. A client that goes away stops only the stream.
 */
import { z } from "zod";
import { badRequest, ApiError, forbidden, upstreamError } from "../../../../lib/errors.js";
import { SSE_DONE, sseData } from "../../../../lib/http/sse.js";
import { released } from "../../../../lib/rpc.js";
import { hasScope } from "../../../../lib/scopes.js";
import { backoffMs, sleep } from "../../../../lib/time.js";
import { ChatCouncilOptionsSchema, type ChatCall, type ChatReply, type CouncilView, type RpcReply, type Usage } from "../../../../lib/protocol/index.js";
import { GENERAL_ASSISTANTS } from "../../../../durable-objects/council/general.js";
import { refusalError } from "../../../../durable-objects/council/admission.js";
import { councilSettings } from "../../../../durable-objects/council/settings.js";
import { councilStub } from "../councils/rpc.js";
import { callerScopes } from "./caller-scopes.js";
import { promptText } from "../estimate.js";
import { asApiError, contentText, pipelineAbort, safely, toReadable } from "../stream.js";
import { answerStamp, chunk, completion, usageChunk, usageOf } from "../wire.js";
import type { PipelineDeps } from "./passthrough.js";

/** Where a council that did not fail ends; a failed one ends the answer with its error (`CouncilFailed`). */
const TERMINAL = new Set(["consensus", "awaiting_human", "decided"]);
/**
 * What this call books: a request, no tokens. The assistants' and the moderator's model calls are booked by
 * the council as they are made (with the upstream's usage); an estimate booked here as well counted them twice.
 */
const BOOKED: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export async function council(call: ChatCall, deps: PipelineDeps): Promise<ChatReply> {
  const model = call.body.model;
  const opened = await open(call, deps).catch((err: unknown) => err);
  if (!(opened && typeof opened === "object" && "id" in opened)) {
    deps.settle(model);
    if (opened instanceof ApiError) return { kind: "error", error: opened.toJSON(), upstreamMs: 0 };
    throw opened;
  }
  const view = opened as CouncilView;
  const stamp = answerStamp(model);
  const prompt = promptText(call.body.messages);
  const abort = pipelineAbort(deps.stopped);
  const lines = follow(call, deps, view, abort.signal);
  const extra = (v: CouncilView) => ({ cio: { council_id: v.id, status: v.status, decision: v.decision?.option ?? null } });
  const started = Date.now();

  if (call.body.stream !== true) {
    let text = "";
    let last = view;
    try {
      for await (const step of lines) (text += step.line + "\n"), (last = step.view);
    } catch (err) {
      deps.settle(model, BOOKED);
      if (err instanceof CouncilFailed) return { kind: "error", error: err.toJSON(), upstreamMs: Date.now() - started };
      // The council goes on in its object; only following it failed, so the error says where to find it.
      const e = asApiError(err);
      const body = e.toBody().error;
      return { kind: "error", error: { ...e.toJSON(), error: { ...body, message: `${sentence(body.message)} Council ${view.id} goes on: GET /v1/councils/${view.id}.` } }, upstreamMs: Date.now() - started };
    }
    deps.settle(model, BOOKED);
    return { kind: "json", completion: completion(stamp, text.trim(), usageOf(prompt, text), extra(last)), upstreamMs: Date.now() - started };
  }
  const includeUsage = call.body.stream_options?.include_usage === true;
  let all = "";
  // A failure thrown here (the council's own too) ends the stream with an error event and no [DONE] (`safely`).
  async function* frames() {
    yield sseData(chunk(stamp, { role: "assistant", content: "" }));
    let last = view;
    for await (const step of lines) {
      all += step.line + "\n";
      last = step.view;
      yield sseData(chunk(stamp, { content: step.line + "\n" }));
    }
    yield sseData({ ...chunk(stamp, {}, "stop"), ...extra(last) });
    if (includeUsage) yield sseData(usageChunk(stamp, usageOf(prompt, all)));
    yield SSE_DONE;
  }
  return { kind: "stream", body: toReadable(safely(frames()), abort, () => deps.settle(model, BOOKED)), upstreamMs: 0 };
}

async function open(call: ChatCall, deps: PipelineDeps): Promise<CouncilView> {
  const extra = ChatCouncilOptionsSchema.safeParse((call.body as { council?: unknown }).council ?? {});
  if (!extra.success) throw badRequest(`Invalid 'council': ${z.prettifyError(extra.error)}`, "council");
  // A trading council places orders in the paper book, which /v1/councils and /v1/trading guard. Read fresh
  // (no cache): opening one is rare, and what it may do matters more than one D1 read.
  if (extra.data.preset === "trading" && !hasScope(await callerScopes(deps.env.DB, call, 0), "councils")) {
    throw forbidden("This API key lacks the 'councils' scope, which a trading council needs.");
  }
  // Every message is context the council reads as text; a (deprecated) function result says which function gave it.
  const messages = call.body.messages.map((m) => ({ role: m.role === "function" ? `function ${m.name}` : m.role, text: contentText(m.content) }));
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  if (lastUser < 0) throw badRequest("cio/council needs a user message: the question.", "messages");
  const context = messages.slice(0, lastUser).map((m) => `${m.role}: ${m.text}`).join("\n").slice(-16_000);
  // A council per call: the request id is the client's to choose (x-request-id), so two chats could share it.
  const councilId = `chat-${crypto.randomUUID()}`;
  const body = {
    question: messages[lastUser]!.text.slice(0, 8_000),
    ...(context ? { context } : {}),
    ...extra.data,
    assistants: extra.data.assistants ?? (extra.data.preset ? undefined : GENERAL_ASSISTANTS),
    ...(call.body.session_id ? { session_id: call.body.session_id } : {}),
  };
  const reply = (await released(councilStub(deps.env, call.tenantId, councilId).start({ tenantId: call.tenantId, councilId, requestId: call.requestId, body }))) as RpcReply<CouncilView>;
  if (reply.kind === "error") throw ApiError.from(reply.error);
  deps.log.info("cio/council opened a council", { councilId });
  return reply.body;
}

/**
 * One line per finished round, then the outcome, as the council's version moves on; an error when the council
 * has not finished by CIO_COUNCIL_CHAT_DEADLINE_MS (it goes on in its object, the answer does not wait for ever).
 */
async function* follow(call: ChatCall, deps: PipelineDeps, first: CouncilView, signal: AbortSignal) {
  const { CIO_COUNCIL_WAIT_MS: waitMs, CIO_COUNCIL_CHAT_DEADLINE_MS: deadlineMs } = councilSettings(deps.env);
  const deadline = Date.now() + deadlineMs;
  const stub = () => councilStub(deps.env, call.tenantId, first.id);
  let view = first;
  let shown = 0;
  yield { line: `Council ${view.id}: ${view.assistants.length} assistants, up to ${view.max_rounds} rounds.`, view };
  for (;;) {
    for (; shown < view.rounds.length; shown++) yield { line: roundLine(view, view.rounds[shown]!), view };
    if (view.status === "failed") throw new CouncilFailed(view);
    if (TERMINAL.has(view.status) && (view.preset !== "trading" || view.paper_order || view.status === "awaiting_human")) break;
    if (signal.aborted) return;
    const left = deadline - Date.now();
    if (left <= 0) throw upstreamError(`Council ${view.id} did not finish within ${deadlineMs} ms (it is ${view.status})`, 504, "council_timeout");
    const r = await waitForChange(stub, call.tenantId, view.version, Math.min(waitMs, left), signal);
    if (r.kind === "error") throw ApiError.from(r.error);
    view = r.body;
  }
  yield { line: finalLine(view), view };
}

const WAIT_ATTEMPTS = 3;

/**
 * A long-poll is a read, so a call that threw (the object was reset or moved mid-wait; the council goes on,
 * driven by its alarm) is made again, on a new stub: a stub that saw its object reset stays broken.
 */
async function waitForChange(stub: () => ReturnType<typeof councilStub>, tenantId: string, version: number, waitMs: number, signal: AbortSignal) {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await released(stub().waitForChange(tenantId, version, waitMs))) as RpcReply<CouncilView>;
    } catch (err) {
      if (attempt + 1 >= WAIT_ATTEMPTS || signal.aborted) throw err;
      await sleep(backoffMs(attempt, 100));
    }
  }
}

function roundLine(v: CouncilView, r: CouncilView["rounds"][number]): string {
  const votes = Object.entries(r.tally).sort((a, b) => b[1] - a[1]).map(([o, w]) => `${o} ${w.toFixed(2)}`).join(", ");
  const lead = r.leader ? `${r.leader} leads with ${(r.share * 100).toFixed(0)}% of the weight` : "no single leader";
  return `Round ${r.round}: ${votes || "no votes"}; ${lead} (needs ${(v.threshold * 100).toFixed(0)}%).`;
}

function finalLine(v: CouncilView): string {
  if (v.status === "consensus") return `Decision: ${v.decision!.option} (consensus in round ${v.rounds.length}).${orderLine(v)}`;
  if (v.status === "decided") return `Decision: ${v.decision!.option} (by a human).${orderLine(v)}`;
  const options = v.options ?? Object.keys(v.rounds.at(-1)?.tally ?? {});
  return `No consensus after ${v.rounds.length} rounds: escalated to a human, who chooses between ${options.join(", ")} (POST /v1/councils/${v.id}/decision).`;
}

const sentence = (text: string) => text.replace(/\.?$/, ".");

/**
 * A council that ended failed (no assistant could answer: the models failed, the tenant's budget ran out, the
 * tenant was suspended): told as a 200 completion that finished with "stop", it was a success to an OpenAI
 * client, with nothing to retry on. It is the status of why it failed (the council's `error_code`): the refusal's
 * own (429 `budget_exceeded`, not to be retried; 403 `tenant_suspended`), else a 502 `council_failed`, also
 * with `x-should-retry: false`: the council already retried each assistant (CIO_COUNCIL_ASSISTANT_ATTEMPTS), and
 * the OpenAI SDKs' automatic retries of a 502 would each open, and pay for, a new council.
 */
class CouncilFailed extends ApiError {
  constructor(v: CouncilView) {
    const message = `Council ${v.id} failed: ${sentence(v.error ?? "no reason was recorded")} See GET /v1/councils/${v.id}.`;
    const code = v.error_code ?? "council_failed";
    const e = code === "council_failed" ? upstreamError(message, 502, code) : refusalError(code);
    super(e.status, e.type, message, e.code, null, { ...e.headers, "x-should-retry": "false" });
  }
}

const orderLine = (v: CouncilView) => {
  const o = v.paper_order as { side?: string; status?: string; qty?: number; price?: number } | null | undefined;
  return o && o.status !== "none" ? ` Paper order: ${o.side} ${o.qty} at ${o.price} (${o.status}).` : "";
};
