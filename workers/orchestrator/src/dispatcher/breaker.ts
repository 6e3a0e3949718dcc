/**
 * The dispatcher's side of the circuit breakers. The state lives in one ToolBreakerDO per tenant and tool
 * (shared by all isolates); each isolate keeps a short-lived view of it so the common case — a closed
 * breaker and a successful call — costs no round trip: the object is asked again only when the view is
 * older than CIO_BREAKER_SYNC_MS, when the view says open and the cool-down has passed, or to report a
 * failure (and the first success after one).
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

export class Breakers {
  private readonly cfg: BreakerConfig;

  constructor(
    private readonly env: OrchestratorEnv,
    s: OrchestratorSettings,
    private readonly tenantId: string,
    private readonly log: Logger,
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
    if (v && now - v.syncedAt < this.syncMs) {
      if (v.status === "closed") return { allowed: true, probe: false, retryAt: 0 };
      if (v.status === "open" && now < v.retryAt) return { allowed: false, probe: false, retryAt: v.retryAt };
    }
    try {
      const a = await this.stub(tool).acquire(this.cfg);
      this.remember(tool, a, now);
      return a;
    } catch (err) {
      // The breaker is a safeguard, not a dependency: if its object cannot answer, the call goes ahead.
      this.log.warn("circuit breaker unreachable; calling the tool anyway", { tool, err });
      return { allowed: true, probe: false, retryAt: 0 };
    }
  }

  /** Reports a call's outcome; a success on a healthy breaker is not worth a round trip. */
  async report(tool: string, ok: boolean, now = Date.now()): Promise<void> {
    const v = views.get(this.key(tool));
    if (ok && v && v.status === "closed" && v.failures === 0) return;
    try {
      this.remember(tool, await this.stub(tool).record(ok, this.cfg), now);
    } catch (err) {
      this.log.warn("circuit breaker unreachable; outcome not recorded", { tool, ok, err });
    }
  }

  private remember(tool: string, v: BreakerView, now: number) {
    views.set(this.key(tool), { status: v.status, failures: v.failures, retryAt: v.retryAt, syncedAt: now });
  }
}
