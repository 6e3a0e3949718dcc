/**
 * doctor's cloud check: connects as `start` does and says hello, so the hub checks what it only checks after
 * hello (the runner name the token is for, the protocol version). Opening the socket alone proved the URL and
 * the token, and doctor passed while `start` was refused in a loop for its runner.name.
 */
import WebSocket from "ws";
import { HubToRunnerFrameSchema, parseFrame, type HelloFrame } from "../../../lib/protocol/runner.ts";
import { connectUrl, REFUSALS } from "../client/connection.ts";
import { messageOf } from "../errors.ts";
import { RUNNER_VERSION } from "../version.ts";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** How long a clean close may take once the hub has answered; past it the socket is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * Says `hello` and waits for hello-ack. The hub treats the doctor as one of the pool's runners for as long as
 * it stays, so it leaves at once: a query sent to it meanwhile goes to another runner when it closes.
 */
export function cloudCheck(cloudUrl: string, token: string, hello: HelloFrame, timeoutMs: number): Promise<Check> {
  const url = connectUrl(cloudUrl);
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}`, "User-Agent": `cio-runner/${RUNNER_VERSION}` }, handshakeTimeout: timeoutMs });
    const done = (ok: boolean, detail: string) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {});
      leave(ws);
      resolve({ name: "cloud", ok, detail: `${url}: ${detail}` });
    };
    const timer = setTimeout(() => done(false, `no hello-ack within ${timeoutMs} ms`), timeoutMs);
    ws.on("open", () => ws.send(JSON.stringify(hello)));
    ws.on("message", (data) => {
      const parsed = parseFrame(HubToRunnerFrameSchema, data.toString());
      if (parsed.ok && parsed.frame.type === "hello-ack") done(true, `accepted the runner token and runner "${hello.runnerName}"`);
    });
    ws.on("close", (code, reason) => done(false, refused(code, reason.toString())));
    ws.on("unexpected-response", (_req, res) =>
      done(false, res.statusCode === 401 || res.statusCode === 403 ? `the runner token was refused (HTTP ${res.statusCode})` : `HTTP ${res.statusCode} instead of a WebSocket upgrade`),
    );
    ws.on("error", (err) => done(false, messageOf(err)));
  });
}

function refused(code: number, reason: string): string {
  const why = REFUSALS[code] ?? "the hub closed the connection before acknowledging hello";
  return `${why}: ${reason || "no reason given"} (close ${code})`;
}

/** Closes with a handshake when the socket is open (the hub then forgets the connection at once), else cuts it. */
function leave(ws: WebSocket) {
  if (ws.readyState !== WebSocket.OPEN) return ws.terminate();
  ws.close(1000, "cio-runner doctor: done");
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}
