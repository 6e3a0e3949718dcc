/**
 * One ToolBreakerDO per tenant and tool holds that tool's circuit breaker, so every isolate of the
 * orchestrator sees the same state: closed (calls flow; consecutive failures are counted), open (calls
 * are refused until the cool-down has passed) and half-open (exactly one probe call is let through; its
 * outcome closes the breaker or opens it again). A Durable Object handles one call at a time, so the
 * single-probe rule holds under any concurrency. The probe carries a token back with its outcome: calls let
 * out earlier (before the breaker opened, or a probe that expired) report while it is half-open too, and
 * theirs must not decide it. A probe whose caller went away before it answered gives its token back
 * (release), so the next call probes instead of waiting for the lost one to expire.
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";

export const BreakerConfigSchema = z.object({
  threshold: z.number().int().positive(),
  cooldownMs: z.number().int().positive(),
});
export type BreakerConfig = z.infer<typeof BreakerConfigSchema>;

export type BreakerStatus = "closed" | "open" | "half-open";

export interface BreakerState {
  status: BreakerStatus;
  /** Consecutive failures while closed. */
  failures: number;
  /** When the breaker last opened (epoch ms). */
  openedAt: number;
  /** When the current half-open probe was handed out; a probe that never reports back expires after a cool-down. */
  probeAt: number;
  /** The current probe's token: only a record() carrying it decides a half-open breaker. */
  probe?: string | null;
}

export interface BreakerView {
  status: BreakerStatus;
  failures: number;
  /** While open: when a probe will be allowed; while half-open: when the current probe expires (epoch ms). */
  retryAt: number;
}

export interface Admission extends BreakerView {
  allowed: boolean;
  /** When this call is the half-open probe, its token: give it back to record(), whose outcome then decides the breaker. */
  probe: string | null;
}

const INITIAL: BreakerState = { status: "closed", failures: 0, openedAt: 0, probeAt: 0, probe: null };

export class ToolBreakerDO extends DurableObject {
  private state: BreakerState = INITIAL;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get<BreakerState>("state")) ?? INITIAL;
    });
  }

  async acquire(raw: BreakerConfig, now = Date.now()): Promise<Admission> {
    const cfg = BreakerConfigSchema.parse(raw);
    const s = this.state;
    if (s.status === "closed") return { ...this.view(cfg), allowed: true, probe: null };
    const probeStale = s.status === "half-open" && now - s.probeAt >= cfg.cooldownMs;
    const cooled = s.status === "open" && now - s.openedAt >= cfg.cooldownMs;
    if (cooled || probeStale) {
      const probe = crypto.randomUUID();
      await this.save({ ...s, status: "half-open", probeAt: now, probe });
      return { ...this.view(cfg), allowed: true, probe };
    }
    return { ...this.view(cfg), allowed: false, probe: null };
  }

  /** A call's outcome; `probe` is the token acquire() gave the half-open probe, if this call was it. */
  async record(ok: boolean, raw: BreakerConfig, probe: string | null = null, now = Date.now()): Promise<BreakerView> {
    const cfg = BreakerConfigSchema.parse(raw);
    const s = this.state;
    // Only the probe decides a half-open breaker. A slow call let out before it says nothing about the tool
    // now: its failure would re-open the breaker (and the probe's success then be ignored), its success
    // would close it before the probe has answered.
    if (s.status === "half-open" && (!probe || probe !== s.probe)) return this.view(cfg);
    if (ok) {
      // Only the half-open probe closes an open breaker: a success reported now comes from a call let out
      // before it opened (an isolate's stale closed view), which says nothing about the tool since.
      if (s.status === "half-open" || (s.status === "closed" && s.failures !== 0)) await this.save(INITIAL);
    } else if (s.status === "half-open" || (s.status === "closed" && s.failures + 1 >= cfg.threshold)) {
      await this.save({ status: "open", failures: s.failures + 1, openedAt: now, probeAt: 0, probe: null });
    } else if (s.status === "closed") {
      await this.save({ ...s, failures: s.failures + 1 });
    }
    return this.view(cfg);
  }

  /**
   * The probe's caller went away before the tool answered, which says nothing about the tool: its token is
   * given back and the next call becomes the probe (probeAt 0 reads as expired). Any other token is stale.
   */
  async release(probe: string, raw: BreakerConfig): Promise<BreakerView> {
    const cfg = BreakerConfigSchema.parse(raw);
    const s = this.state;
    if (s.status === "half-open" && s.probe === probe) await this.save({ ...s, probeAt: 0, probe: null });
    return this.view(cfg);
  }

  /** The state as it stands, changing nothing (no probe is handed out): for isolates refreshing their view. */
  peek(raw: BreakerConfig): BreakerView {
    return this.view(BreakerConfigSchema.parse(raw));
  }

  snapshot(): BreakerState {
    return this.state;
  }

  private view(cfg: BreakerConfig): BreakerView {
    const s = this.state;
    return { status: s.status, failures: s.failures, retryAt: retryAt(s, cfg) };
  }

  private async save(next: BreakerState) {
    this.state = next;
    await this.ctx.storage.put("state", next);
  }
}

/**
 * When the next call may go: open, a cool-down after it opened; half-open, when the probe out now expires
 * (its opening is a cool-down past already, so that would read "now" while every call is refused).
 */
function retryAt(s: BreakerState, cfg: BreakerConfig): number {
  if (s.status === "closed") return 0;
  return (s.status === "half-open" ? s.probeAt : s.openedAt) + cfg.cooldownMs;
}
