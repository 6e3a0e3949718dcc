/**
 * A WebSocket client for session tests inside workerd: collects every frame it receives and waits for
 * frames by predicate, so a test can say "until the assistant message of turn t1" instead of sleeping.
 */
export type Frame = { type: string; seq?: number; id?: string; [k: string]: unknown };

export class SessionClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private wake: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (e) => {
      this.frames.push(JSON.parse(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)) as Frame);
      this.notify();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.notify();
    });
  }

  static from(res: Response): SessionClient {
    if (res.status !== 101 || !res.webSocket) throw new Error(`expected a WebSocket upgrade, got ${res.status}`);
    return new SessionClient(res.webSocket);
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first frame (from index `from`) matching `pred`; fails after `ms`. */
  async waitFor(pred: (f: Frame) => boolean, ms = 8000, from = 0): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(this.frames).slice(-1500)}`);
      await new Promise<void>((r) => {
        this.wake.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async waitClosed(ms = 8000) {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("socket not closed");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  /** Frames that carry a seq (the session's events), in arrival order. */
  events(): Frame[] {
    return this.frames.filter((f) => typeof f.seq === "number");
  }

  close() {
    try {
      this.ws.close(1000, "done");
    } catch {
      /* already closed */
    }
  }

  private notify() {
    for (const w of this.wake.splice(0)) w();
  }
}

/** The reassembled answer of a turn from its delta events. */
export const textOf = (frames: Frame[], id: string) =>
  frames
    .filter((f) => f.type === "delta" && f.id === id)
    .map((f) => f.text as string)
    .join("");
