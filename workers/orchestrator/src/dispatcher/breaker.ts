/**
 * The dispatcher's side of the circuit breakers. The state lives in one ToolBreakerDO per tenant and tool
 * (shared by all isolates); each isolate keeps a view of it so the common case — a closed breaker and a
 * successful call — costs no round trip on the call's path. A closed view lets the call go at once; when
 * it is older than CIO_BREAKER_SYNC_MS it is refreshed beside the call (a read-only peek, kept alive by
 * waitUntil). The object is asked before the call only when the view says open (or there is none), and
 * told about failures (and the first success after one). Trade-off: a breaker another isolate opened
 * reaches this one with its next refresh, so the calls made on the stale view meanwhile — at most those
 * of one peek's round trip, once per CIO_BREAKER_SYNC_MS — still go out, as they did before it opened.
 */
import { scopedName, stubFor } from "../../../../lib/do-names.js";
import type { Logger } from "../../../../lib/log.js";
import type { Admission, BreakerConfig, BreakerView } from "../../../../durable-objects/tool-breaker/index.js";
import type { OrchestratorEnv } from "../env.js";
import type { OrchestratorSettings } from "../settings.js";

interface LocalView extends BreakerView {
  syncedAt: number;
}

const views = new Map<string, LocalView>();
/** Keys with a peek under way, so a busy isolate sends one, not one per call. */
const refreshing = new Set<string>();

export class Breakers {
  private readonly cfg: BreakerConfig;

  constructor(
    private readonly env: OrchestratorEnv,
    s: OrchestratorSettings,
    private readonly tenantId: string,
    private readonly log: Logger,
    /** Keeps a background refresh alive after the answer (ctx.waitUntil). */
    private readonly waitUntil: (p: Promise<unknown>) => void = () => {},
  ) {
    this.cfg = { threshold: s.CIO_BREAKER_THRESHOLD, cooldownMs: s.CIO_BREAKER_COOLDOWN_MS };
    this.syncMs = s.CIO_BREAKER_SYNC_MS;
  }

  private readonly syncMs: number;

  private key = (tool: string) => scopedName(this.tenantId, "tool-breaker", tool);
  private stub = (tool: string) => stubFor(this.env.TOOL_BREAKERS, this.key(tool));

  /** Whether a call may go out now; `probe` marks the one call a half-open breaker lets through. */
  async admit(tool: string, now = Date.now()): Promise<Pick<Admission, "allowed" | "probe" | "retryAt">> {
    const v = views.get(this.key(tool));
    if (v?.status === "closed") {
      if (now - v.syncedAt >= this.syncMs) this.refresh(tool, v, now);
      return { allowed: true, probe: null, retryAt: 0 };
    }
    if (v && now - v.syncedAt < this.syncMs && v.status === "open" && now < v.retryAt) return { allowed: false, probe: null, retryAt: v.retryAt };
    try {
      const a = await this.stub(tool).acquire(this.cfg);
      this.remember(tool, a, now);
      return a;
    } catch (err) {
      // The breaker is a safeguard, not a dependency: if its object cannot answer, the call goes ahead.
      this.log.warn("circuit breaker unreachable; calling the tool anyway", { tool, err });
      return { allowed: true, probe: null, retryAt: 0 };
    }
  }

  /**
   * Reports a call's outcome, with the probe token admit() gave it if it was the half-open probe; a success
   * on a healthy breaker is not worth a round trip (a probe's always is: it decides the breaker).
   */
  async report(tool: string, ok: boolean, probe: string | null = null, now = Date.now()): Promise<void> {
    const v = views.get(this.key(tool));
    if (ok && !probe && v && v.status === "closed" && v.failures === 0) return;
    try {
      this.remember(tool, await this.stub(tool).record(ok, this.cfg, probe), now);
    } catch (err) {
      this.log.warn("circuit breaker unreachable; outcome not recorded", { tool, ok, err });
    }
  }

  /**
   * Gives back the probe token of a call cut off by its caller, so the next call probes. Kept alive past the
   * answer (the request that made it is going away), and a failure only logged, like report()'s.
   */
  async release(tool: string, probe: string, now = Date.now()): Promise<void> {
    const done = this.stub(tool)
      .release(probe, this.cfg)
      .then((v) => this.remember(tool, v, now))
      .catch((err) => this.log.warn("circuit breaker unreachable; probe not released", { tool, err }));
    this.waitUntil(done);
    await done;
  }

  /** Peeks at the shared state; applied only if nothing newer (a reported outcome) replaced the view meanwhile. */
  private refresh(tool: string, seen: LocalView, now: number) {
    const key = this.key(tool);
    if (refreshing.has(key)) return;
    refreshing.add(key);
    const peek = this.stub(tool)
      .peek(this.cfg)
      .then((fresh) => {
        if (views.get(key) === seen) this.remember(tool, fresh, now);
      })
      .catch((err) => this.log.warn("circuit breaker unreachable; keeping this isolate's view", { tool, err }))
      .finally(() => refreshing.delete(key));
    this.waitUntil(peek);
  }

  private remember(tool: string, v: BreakerView, now: number) {
    views.set(this.key(tool), { status: v.status, failures: v.failures, retryAt: v.retryAt, syncedAt: now });
  }
}
