/**
 * Turns of a session: a user's message, the model's answer streamed as `delta` events, the tools used, and
 * the stored assistant message. A turn is recorded as running before anything is sent upstream, so if the
 * object dies mid-turn the next incarnation (or the watchdog alarm) finds it and marks it failed.
 */
import { ApiError, conflict } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { ChatReply } from "../../lib/protocol/index.js";
import type { LoggedEvent, NewEvent, StoredMessage } from "../../lib/protocol/session.js";
import type { SessionStore } from "./store.js";
import { answerOf } from "./client-tools.js";
import { readTurnStream, TurnStreamError } from "./turn-stream.js";

export interface TurnDeps {
  store: SessionStore;
  log: Logger;
  /** Appends to the log and broadcasts to live sockets. */
  emit(e: NewEvent): LoggedEvent;
  /** Broadcasts an event already in the log. */
  relay(e: LoggedEvent): void;
  /** Called when a turn starts or ends (alarm scheduling, index row). */
  changed(): void;
  /** Frees a concurrency lease at the tenant's limiter; never throws (a repeated release does nothing). */
  release(leaseId: string): void;
}

/** What the caller of a turn that could not be recorded is told (an HTTP error, a socket's error frame). */
export const NOT_RECORDED = { code: "turn_not_recorded", message: "The turn could not be recorded in the session; nothing was stored. Retry shortly." } as const;

/** Why a running turn was stopped, and the error code its `error` event carries. */
export class TurnStop extends Error {
  constructor(
    readonly code: "cancelled" | "turn_timeout" | "session_deleted",
    message: string,
  ) {
    super(message);
  }

  /** What a caller waiting on the turn over HTTP (a chat completion with session_id) is answered. */
  toApiError(): ApiError {
    if (this.code === "turn_timeout") return new ApiError(504, "upstream_error", this.message, this.code);
    if (this.code === "session_deleted") return new ApiError(404, "not_found_error", this.message, "session_not_found", "session_id");
    return conflict(this.message, "cancelled");
  }
}

export class Turns {
  private running = new Map<string, AbortController>();

  constructor(private readonly d: TurnDeps) {}

  get busy() {
    return this.running.size > 0;
  }

  isRunning(id: string) {
    return this.running.has(id);
  }

  /**
   * Records the turn and its new messages, all or nothing, and only then counts it running and sends the
   * messages out; returns the signal that stops it, or null when it could not be recorded (nothing was). A
   * write failing half way (a turn id already taken) left a turn running in memory that storage never had,
   * and the session refused every later turn as in progress until the object was evicted. The turn's lease
   * (its concurrency slot) is stored with it, so the slot of a turn cut off by a reset is freed (failOrphans).
   */
  begin(id: string, messages: StoredMessage[], requestId: string, leaseId?: string): AbortSignal | null {
    let logged: LoggedEvent[];
    try {
      logged = this.record(id, messages, requestId, leaseId ?? null);
    } catch (err) {
      this.d.log.error("turn not recorded", { err, turnId: id });
      return null;
    }
    const abort = new AbortController();
    this.running.set(id, abort);
    for (const e of logged) this.d.relay(e);
    this.d.changed();
    return abort.signal;
  }

  /** Follows the orchestrator's reply to its end and records the outcome. Never throws. */
  async follow(id: string, reply: ChatReply | Promise<ChatReply>, signal: AbortSignal): Promise<void> {
    try {
      const r = await untilAborted(reply, signal);
      if (r.kind === "error") return this.fail(id, r.error.error.code ?? "upstream_error", r.error.error.message);
      if (r.kind === "json") {
        const message = r.completion.choices[0]?.message;
        const text = message?.content ?? "";
        if (text) this.d.emit({ type: "delta", id, text });
        return this.succeed(id, answerOf(text, message?.tool_calls ?? []));
      }
      const answer = await readTurnStream(r.body, signal, {
        delta: (t) => void this.d.emit({ type: "delta", id, text: t }),
        tool: (t) => void this.d.emit({ type: "tool", id, name: t.name, status: t.ok ? "ok" : "error", latency_ms: t.latency_ms }),
      });
      this.succeed(id, answerOf(answer.text, answer.toolCalls));
    } catch (err) {
      if (err instanceof TurnStop || err instanceof TurnStreamError) return this.fail(id, err.code, err.message, err.code === "cancelled" ? "cancelled" : "failed");
      this.d.log.error("turn failed", { err, turnId: id });
      this.fail(id, "turn_failed", "The answer could not be completed.");
    }
  }

  stop(id: string, reason: TurnStop): boolean {
    const abort = this.running.get(id);
    if (!abort) return false;
    abort.abort(reason);
    return true;
  }

  /**
   * Stops every running turn and records each as failed now, not when its follower notices the abort a few
   * microtasks later: the session deleting itself wipes storage and closes the sockets right after this, and
   * the turn's error event must reach the clients first. The follower's own ending then finds it done.
   */
  stopAll(reason: TurnStop) {
    for (const id of [...this.running.keys()]) {
      this.stop(id, reason);
      this.fail(id, reason.code, reason.message);
    }
  }

  /**
   * Turns recorded as running that no code in this incarnation is running: cut off by an eviction or crash.
   * The pipeline that would have settled each one's lease died with the old incarnation, so the lease is
   * released here: otherwise the slot stayed taken until the lease expired (CIO_LEASE_TTL_MS), and a key at
   * its concurrency limit was refused every turn and request for that long after each deploy.
   */
  failOrphans(): string[] {
    const orphans = this.d.store.runningTurns().filter((t) => !this.running.has(t.id));
    for (const t of orphans) {
      this.fail(t.id, "turn_interrupted", "The session restarted while this turn was running; it did not complete.");
      if (t.leaseId) this.d.release(t.leaseId);
    }
    return orphans.map((t) => t.id);
  }

  /** Running turns older than `maxMs` are stopped (a hung upstream); returns when the next one is due. */
  enforceTimeout(maxMs: number, now = Date.now()): number | null {
    let next: number | null = null;
    for (const t of this.d.store.runningTurns()) {
      const due = t.startedAt + maxMs;
      if (due <= now) this.stop(t.id, new TurnStop("turn_timeout", `The turn took longer than ${Math.round(maxMs / 1000)} s and was stopped.`));
      else next = Math.min(next ?? due, due);
    }
    return next;
  }

  /** The turn's row and its messages with their events, in one transaction; the events are not sent yet. */
  private record(id: string, messages: StoredMessage[], requestId: string, leaseId: string | null): LoggedEvent[] {
    return this.d.store.atomically(() => {
      this.d.store.startTurn(id, requestId, leaseId);
      return messages.map((m) => {
        const e = this.d.store.append({ type: "message", id, request_id: requestId, role: m.role, content: m.content });
        this.d.store.addMessage(e.seq, id, m);
        return e;
      });
    });
  }

  /** Records the answer; one that called the client's tools keeps the calls, which the next turn answers. */
  private succeed(id: string, answer: StoredMessage) {
    this.running.delete(id);
    if (this.d.store.turnStatus(id) !== "running") return;
    const e = this.d.emit({ type: "message", id, ...this.rated(id), role: "assistant", content: answer.content });
    this.d.store.addMessage(e.seq, id, answer);
    this.d.store.endTurn(id, "succeeded");
    this.d.changed();
  }

  private fail(id: string, code: string, message: string, status: "failed" | "cancelled" = "failed") {
    this.running.delete(id);
    if (this.d.store.turnStatus(id) !== "running") return;
    this.d.store.endTurn(id, status, code);
    this.d.emit({ type: "error", id, ...this.rated(id), code, message });
    this.d.changed();
  }

  /**
   * The id POST /v1/feedback rates the turn's answer by: the request id its tool calls are recorded under, which
   * a socket's client cannot otherwise learn (a browser cannot read the upgrade's response headers).
   */
  private rated(id: string): { request_id?: string } {
    const requestId = this.d.store.turnRequestId(id);
    return requestId ? { request_id: requestId } : {};
  }
}

/**
 * The reply, unless the turn is stopped first (an upstream that has not answered yet): then the reply is
 * dropped when it comes, and its stream cancelled so the upstream call ends too.
 */
export function untilAborted(reply: ChatReply | Promise<ChatReply>, signal: AbortSignal): Promise<ChatReply> {
  const drop = () => void Promise.resolve(reply).then((r) => (r.kind === "stream" ? r.body.cancel(signal.reason) : undefined)).catch(() => {});
  if (signal.aborted) {
    drop();
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      drop();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(reply).then(
      (r) => (signal.removeEventListener("abort", onAbort), resolve(r)),
      (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}

