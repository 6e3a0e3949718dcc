/**
 * One CouncilDO per (tenant, council id). The object's alarm drives the council: each alarm run does one
 * step (gather evidence, finish a round, place the paper order, notify the session), persists it, and
 * schedules the next. Before a step starts the alarm is re-armed as a watchdog, so if the object is
 * evicted or crashes mid-step the alarm fires again and the step is redone from what was persisted:
 * positions already given are kept, writes to D1 are idempotent, and actions that arrive out of order
 * (a decision before the escalation, a second different decision, an outcome before the decision) are
 * refused.
 *
 * The object takes other calls while it waits for D1, so every change of the state is made in one queue
 * (`exclusive`): a call reads, writes D1 and saves before the next reads, and sees what the one before did.
 * The alarm does its long work (model calls, tools) outside the queue and saves only if nobody changed the
 * state meanwhile; otherwise it redoes the step from what the other call saved.
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { ApiError, badRequest } from "../../lib/errors.js";
import { Logger } from "../../lib/log.js";
import {
  CouncilCreateSchema,
  DecisionBodySchema,
  OutcomeBodySchema,
  type CouncilView,
  type RoundResult,
  type RpcReply,
} from "../../lib/protocol/index.js";
import { publishToSession } from "../../lib/protocol/session-events.js";
import { councilRefusal } from "./admission.js";
import { recordOpened, recordRound, recordStatus } from "./audit.js";
import type { CouncilEnv } from "./env.js";
import { keepOwed, optionsOf, owedEvents } from "./events.js";
import { failureCause, giveUp, retryDelay } from "./failures.js";
import { defaultCouncilModel, providerModel, type CouncilModel } from "./model.js";
import { collectPositions, countRound, type RoundDeps } from "./round.js";
import { seat } from "./seat.js";
import { councilSettings, type CouncilSettings } from "./settings.js";
import { isSettled, viewOf, type CouncilState } from "./state.js";
import { isSoundCount } from "./tally.js";
import { gatherEvidence } from "./trading/evidence.js";
import { orderPaper } from "./trading/order-step.js";
import { failPaperOrder } from "./trading/paper.js";
import { applyOutcome } from "./weights.js";

const STATE = "state";
/** Bounds one alarm invocation: rounds, evidence and the paper order fit well within it. */
const MAX_STEPS_PER_ALARM = 32;
const roundKey = (n: number) => `result:${n}`;

export const StartInputSchema = z.object({
  tenantId: z.string().min(1),
  councilId: z.string().min(1),
  requestId: z.string().min(1),
  body: CouncilCreateSchema,
});
export type StartInput = z.input<typeof StartInputSchema>;

/** The alarm's state was changed by a call while it worked: the step is redone from the new state. */
class Superseded extends Error {}

export class CouncilDO extends DurableObject<CouncilEnv> {
  private waiters = new Set<() => void>();
  /** The tail of the queue of state changes. */
  private queue: Promise<unknown> = Promise.resolve();

  async start(raw: StartInput): Promise<RpcReply<CouncilView>> {
    return this.reply(() => this.exclusive(async () => {
      const input = StartInputSchema.parse(raw);
      const fingerprint = JSON.stringify(input.body);
      const existing = await this.load();
      if (existing) {
        this.assertTenant(existing, input.tenantId);
        if (existing.fingerprint !== fingerprint) throw conflict(`Council '${input.councilId}' already exists with a different definition.`, "council_exists");
        return { status: 200, body: viewOf(existing) };
      }
      const s = await seat(this.env, input, fingerprint);
      await recordOpened(this.env.DB, s);
      await this.save(s);
      await this.ctx.storage.setAlarm(Date.now());
      return { status: 201, body: viewOf(s) };
    }));
  }

  async view(tenantId: string): Promise<RpcReply<CouncilView>> {
    return this.reply(async () => ({ status: 200, body: viewOf(await this.mine(tenantId)) }));
  }

  /** Resolves with the council once its version passes `after` (or after `timeoutMs` with it unchanged). */
  async waitForChange(tenantId: string, after: number, timeoutMs: number): Promise<RpcReply<CouncilView>> {
    return this.reply(async () => {
      let s = await this.mine(tenantId);
      if (s.version <= after) {
        await new Promise<void>((resolve) => {
          const done = () => (clearTimeout(timer), this.waiters.delete(done), resolve());
          const timer = setTimeout(done, timeoutMs);
          this.waiters.add(done);
        });
        s = await this.mine(tenantId);
      }
      return { status: 200, body: viewOf(s) };
    });
  }

  /**
   * The human's choice after an escalation. Repeating the same choice is harmless (answered `changed: false`, so
   * the caller does not record it as a second decision); a different one is refused.
   */
  async decide(tenantId: string, raw: unknown): Promise<RpcReply<CouncilView>> {
    return this.reply(() => this.exclusive(async () => {
      const body = DecisionBodySchema.parse(raw);
      const s = await this.mine(tenantId);
      const option = matchOption(optionsOf(s), body.option, s.options !== null);
      if (s.decision) {
        if (s.decision.source === "human" && s.decision.option === option) return { status: 200, body: viewOf(s), changed: false };
        throw conflict(`Council '${s.id}' is already decided (${s.decision.option}, by ${s.decision.source}).`, "council_already_decided");
      }
      if (s.status !== "awaiting_human") throw conflict(`Council '${s.id}' is ${s.status}; a human decides only after it escalates.`, "council_not_awaiting_human");
      keepOwed(s); // an escalation's notice not yet out still goes, before the decision's
      s.decision = { option, source: "human", note: body.note, at: Date.now() };
      s.status = "decided";
      s.pendingEvent = true;
      await recordStatus(this.env.DB, s);
      await this.save(s);
      await this.ctx.storage.setAlarm(Date.now());
      return { status: 200, body: viewOf(s), changed: true };
    }));
  }

  /** The option that proved right; moves the assistants' weights once. */
  async outcome(tenantId: string, raw: unknown, source: "reported" | "measured" = "reported"): Promise<RpcReply<CouncilView>> {
    return this.reply(() => this.exclusive(async () => {
      const body = OutcomeBodySchema.parse(raw);
      const s = await this.mine(tenantId);
      if (!isSettled(s)) throw conflict(`Council '${s.id}' is ${s.status}; an outcome is reported after its decision.`, "council_not_decided");
      const option = matchOption(s.options ?? [...optionsOf(s), s.decision!.option], body.option, s.options !== null);
      if (s.outcome) {
        if (s.outcome.option === option) return { status: 200, body: viewOf(s), changed: false };
        throw conflict(`Council '${s.id}' already has the outcome ${s.outcome.option}.`, "council_outcome_exists");
      }
      const outcome = { option, source, at: Date.now() };
      await applyOutcome(this.env.DB, s, outcome);
      s.outcome = outcome;
      await this.save(s);
      return { status: 200, body: viewOf(s), changed: true };
    }));
  }

  override async alarm(): Promise<void> {
    const settings = councilSettings(this.env);
    // Steps that are due at once (the next round, the paper order) run in this same invocation: each is
    // persisted before the next starts, and the watchdog is re-armed before each, so a crash anywhere
    // resumes at the step it was in. A delayed step (a retry) is left to a later alarm.
    for (let steps = 0; steps < MAX_STEPS_PER_ALARM; steps++) {
      const s = await this.load();
      if (!s) return;
      const log = this.log(s);
      // The watchdog: if this step dies with the object, the alarm brings it back.
      await this.ctx.storage.setAlarm(Date.now() + settings.CIO_COUNCIL_STEP_TIMEOUT_MS);
      let next: number | null;
      try {
        next = await this.step(s, log);
      } catch (err) {
        if (err instanceof Superseded) continue; // a decision or an outcome came in mid-step: redo it from there
        next = await this.stepFailed(s, err, settings, log);
      }
      if (next === null) {
        if (await this.finish(s)) return;
        continue;
      }
      if (next > 0 || steps === MAX_STEPS_PER_ALARM - 1) return void (await this.ctx.storage.setAlarm(Date.now() + next));
    }
  }

  /** Does the next piece of work; returns the delay until the one after, or null when nothing is owed. */
  private async step(s: CouncilState, log: Logger): Promise<number | null> {
    const next = await this.advance(s, log);
    // A final state's notice that did not go out is owed still, and no later step would send it: the step
    // counts as failed, so the alarm sends it again, backing off.
    if (next === null && owedEvents(s).length && this.tellsSession(s)) throw new Error("the session could not be told of the council's last step");
    return next;
  }

  private async advance(s: CouncilState, log: Logger): Promise<number | null> {
    const settings = councilSettings(this.env);
    if (owedEvents(s).length) await this.notify(s, log);
    keepOwed(s); // not told: the notice stays owed as it is, whatever this step changes
    if (s.status === "running") {
      if (s.preset === "trading" && !s.evidence) {
        const ev = await gatherEvidence(this.env, settings, { tenantId: s.tenantId, requestId: s.requestId, timeoutMs: settings.CIO_COUNCIL_TOOL_TIMEOUT_MS }, s.symbol!, log);
        s.evidence = ev.byAssistant;
        s.refPrice = ev.price;
        await this.commit(s);
      }
      return this.runRound(s, log);
    }
    if (s.preset === "trading" && isSettled(s) && !s.paperOrder) return orderPaper(this.env, s, settings, (x, bump) => this.commit(x, bump));
    return null;
  }

  private async runRound(s: CouncilState, log: Logger): Promise<number | null> {
    const settings = councilSettings(this.env);
    const deps: RoundDeps = { storage: this.ctx.storage, model: await this.model(s, log), settings, log };
    const positions = await collectPositions(s, deps);
    if (!positions) {
      await this.commit(s, false);
      return settings.CIO_COUNCIL_RETRY_DELAY_MS;
    }
    // The count is stored before it is acted on, so a replay acts on the same count (grouping is a model call).
    // An unsound one (stored before tally.ts counted in a Map) is counted again, and a new one is never stored.
    const stored = await this.ctx.storage.get<RoundResult>(roundKey(s.round));
    const r = stored && isSoundCount(stored) ? stored : await countRound(s, positions, deps, () => defaultCouncilModel(this.env));
    if (!isSoundCount(r)) throw new Error(`round ${s.round}'s count is not a number (share ${r.share})`);
    await this.ctx.storage.put(roundKey(s.round), r);
    s.rounds.push(r);
    s.attempts = {};
    if (r.positions.every((p) => p.error)) {
      s.status = "failed";
      s.error = `no assistant could answer in round ${r.round}: ${r.positions[0]?.error ?? ""}`;
      s.errorCode = failureCause(r.positions);
    } else if (r.consensus) {
      s.status = "consensus";
      s.decision = { option: r.leader!, source: "consensus", at: Date.now() };
    } else if (s.round >= s.maxRounds) s.status = "awaiting_human";
    else s.round += 1;
    s.pendingEvent = true;
    // The audit first (idempotent, so a replay after a crash here writes the same rows), then the step.
    await recordRound(this.env.DB, s, r);
    await this.commit(s);
    await this.notify(s, log);
    return s.status === "running" || (s.preset === "trading" && isSettled(s)) ? 0 : null;
  }

  /** Tells the session (if any) what the last step did. A failure is logged; the next step tells it again. */
  private async notify(s: CouncilState, log: Logger) {
    if (!this.tellsSession(s)) return; // nobody to tell: nothing is owed
    const events = owedEvents(s);
    let sent = 0;
    try {
      for (; sent < events.length; sent++) await publishToSession(this.env.SESSIONS as unknown as DurableObjectNamespace, s.tenantId, s.sessionId, events[sent]!);
    } catch (err) {
      log.error("council event could not be published to the session", { councilId: s.id, sessionId: s.sessionId, err });
      if (!sent) return; // still owed: the next step tells it again
    }
    // What went out is not sent again; what did not stays owed, in order.
    s.owed = events.slice(sent);
    s.pendingEvent = false;
    await this.commit(s, false);
  }

  private tellsSession(s: CouncilState): boolean {
    return Boolean(s.sessionId && this.env.SESSIONS);
  }

  /**
   * A step that failed is tried again, backing off, from the state as it was saved (the failed step may have
   * changed `s`); after CIO_COUNCIL_STEP_ATTEMPTS in a row it is given up (failures.ts). When D1 cannot take
   * even the failure, this throws and the watchdog alarm brings the step back.
   */
  private stepFailed(s: CouncilState, err: unknown, settings: CouncilSettings, log: Logger): Promise<number | null> {
    return this.exclusive(async () => {
      const saved = await this.load();
      if (!saved || saved.version !== s.version) {
        // A call changed the state meanwhile: the step is redone from there, and this error said only once.
        log.warn("council step failed on a state changed meanwhile; redone from the new one", { councilId: s.id, err });
        return 0;
      }
      const failures = (saved.stepFailures ?? 0) + 1;
      const retry = failures < settings.CIO_COUNCIL_STEP_ATTEMPTS;
      log.error(retry ? "council step failed; retrying" : "council step failed; given up", { councilId: s.id, status: saved.status, round: saved.round, failures, err });
      if (retry) {
        saved.stepFailures = failures;
        await this.save(saved, false);
        return retryDelay(settings, failures);
      }
      const running = saved.status === "running";
      giveUp(saved, failures, err);
      if (running) await recordStatus(this.env.DB, saved);
      if (saved.paperOrder?.status === "failed") await this.recordFailedOrder(saved, log);
      await this.save(saved);
      return 0; // the next step tells the session, or finds nothing owed
    });
  }

  /**
   * The paper book shows the order given up too (D1 may take it though the step's writes failed). A book
   * that cannot is logged: the council's own view still says why there is no order.
   */
  private async recordFailedOrder(s: CouncilState, log: Logger) {
    const o = s.paperOrder as { side: string; price: number; reason: string };
    try {
      s.paperOrder = { ...(await failPaperOrder(this.env.DB, { tenantId: s.tenantId, councilId: s.id, symbol: s.symbol!, side: o.side, price: o.price }, o.reason)) };
    } catch (err) {
      log.error("the paper order given up could not be recorded in the paper book", { councilId: s.id, err });
    }
  }

  /**
   * The step's model, admitted once before any call. A check that throws (D1 unreachable) fails the step, which
   * is retried with backoff: asked inside each call it was every assistant's failure, so a D1 blip of a second
   * used up their CIO_COUNCIL_ASSISTANT_ATTEMPTS and failed the council for good.
   */
  private async model(s: CouncilState, log: Logger): Promise<CouncilModel> {
    return providerModel(this.env, log, s.tenantId, s.requestId, await councilRefusal(this.env, s.tenantId));
  }

  private log(s: CouncilState) {
    return new Logger({ component: "council", requestId: s.requestId, tenantId: s.tenantId }, councilSettings(this.env).CIO_LOG_LEVEL);
  }

  private async load(): Promise<CouncilState | undefined> {
    return this.ctx.storage.get<CouncilState>(STATE);
  }

  /** Persists the state; `bump` marks a change that waiters should see. Only inside `exclusive`. */
  private async save(s: CouncilState, bump = true) {
    if (bump) {
      s.version += 1;
      s.stepFailures = 0; // a change is progress: failed steps are counted again from nothing
    }
    await this.ctx.storage.put(STATE, s);
    if (bump) for (const w of [...this.waiters]) w();
  }

  /** Runs `fn` after every change queued before it has finished, so it reads what they saved. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The alarm's save: only over the state it started from (a call may have saved since); else Superseded. */
  private commit(s: CouncilState, bump = true): Promise<void> {
    return this.exclusive(async () => {
      if ((await this.load())?.version !== s.version) throw new Superseded();
      await this.save(s, bump);
    });
  }

  /** Nothing is owed: the alarm is dropped, unless a call changed the state since (then its work is owed). */
  private finish(s: CouncilState): Promise<boolean> {
    return this.exclusive(async () => {
      if ((await this.load())?.version !== s.version) return false;
      await this.ctx.storage.deleteAlarm();
      return true;
    });
  }

  private async mine(tenantId: string): Promise<CouncilState> {
    const s = await this.load();
    if (!s) throw new ApiError(404, "not_found_error", "No such council.", "council_not_found");
    this.assertTenant(s, tenantId);
    return s;
  }

  /** Names derive from the tenant already; this is the second lock on the same door. */
  private assertTenant(s: CouncilState, tenantId: string) {
    if (s.tenantId !== tenantId) throw new ApiError(404, "not_found_error", "No such council.", "council_not_found");
  }

  private async reply<T>(fn: () => Promise<{ status: number; body: T; changed?: boolean }>): Promise<RpcReply<T>> {
    try {
      return { kind: "ok", ...(await fn()) };
    } catch (err) {
      if (err instanceof ApiError) return { kind: "error", error: err.toJSON() };
      if (err instanceof z.ZodError) return { kind: "error", error: badRequest(z.prettifyError(err)).toJSON() };
      throw err;
    }
  }
}

const conflict = (message: string, code: string) => new ApiError(409, "invalid_request_error", message, code);

/** The option as the council spells it; a fixed council accepts only its options. */
function matchOption(known: string[], given: string, strict: boolean): string {
  const found = known.find((o) => o.toUpperCase() === given.trim().toUpperCase());
  if (found) return found;
  if (strict) throw badRequest(`'${given}' is not one of this council's options: ${known.join(", ")}.`, "option", "invalid_option");
  return given.trim();
}
