import { describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { withDirective } from "../mock-upstream/directive.ts";

type Frame = { type: string; seq?: number; id?: string; text?: string; role?: string; content?: string; code?: string; last_seq?: number };

const base = () => inject("stackUrl");
const auth = () => ({ authorization: `Bearer ${inject("stackKey")}` });
const wsUrl = (path: string) => base().replace(/^http/, "ws") + path;

async function post<T>(path: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${base()}${path}`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A `ws` client that records frames and can wait for one. */
function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  let notify = () => {};
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    notify();
  });
  const waitFor = (pred: (f: Frame) => boolean, ms = 20_000) =>
    new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame; got ${JSON.stringify(frames).slice(-1000)}`)), ms);
      const check = () => {
        const hit = frames.find(pred);
        if (hit) clearTimeout(timer), resolve(hit);
      };
      notify = check;
      check();
    });
  const ready = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
  return { ws, frames, waitFor, ready, send: (f: unknown) => ws.send(JSON.stringify(f)) };
}

describe("a session over WebSocket (the `ws` client against `npm start`)", () => {
  it("streams a turn, survives a dropped socket, and resume reassembles the answer exactly", async () => {
    const answer = Array.from({ length: 24 }, (_, i) => `word${i}${i % 5 === 4 ? "." : ","}`).join(" ");
    const session = await post<{ id: string }>("/v1/sessions", { title: "e2e", model: "mock-model" });

    const first = open(wsUrl(`/v1/sessions/${session.id}/ws`), auth());
    await first.ready;
    expect(await first.waitFor((f) => f.type === "ready")).toEqual({ type: "ready", session_id: session.id, last_seq: 0 });
    first.send({ type: "chat", id: "turn-1", content: withDirective("tell me a long story", { text: answer, chunkDelayMs: 60 }) });
    await first.waitFor((f) => f.type === "delta" && (f.text ?? "").startsWith("word5"));
    // Drop the connection without a close handshake, as a lost network would.
    first.ws.terminate();
    const seen = first.frames.filter((f) => typeof f.seq === "number");
    const lastSeq = seen.at(-1)!.seq!;

    // Reconnect the way a browser does: a one-time ticket in the query string.
    const { ticket } = await post<{ ticket: string }>(`/v1/sessions/${session.id}/ticket`);
    const second = open(wsUrl(`/v1/sessions/${session.id}/ws?ticket=${encodeURIComponent(ticket)}`));
    await second.ready;
    await second.waitFor((f) => f.type === "ready");
    second.send({ type: "resume", after_seq: lastSeq });
    const final = await second.waitFor((f) => f.type === "message" && f.role === "assistant" && f.id === "turn-1");
    second.ws.close();

    const events = [...seen, ...second.frames.filter((f) => typeof f.seq === "number")];
    const seqs = events.map((f) => f.seq!);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const text = events.filter((f) => f.type === "delta" && f.id === "turn-1").map((f) => f.text).join("");
    expect(text).toBe(answer);
    expect(final.content).toBe(answer);

    const messages = (await (await fetch(`${base()}/v1/sessions/${session.id}/messages`, { headers: auth() })).json()) as { data: { role: string; content: string }[] };
    expect(messages.data.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messages.data[1]!.content).toBe(answer);
  });

  it("answers the protocol's ping and refuses a used ticket", async () => {
    const session = await post<{ id: string }>("/v1/sessions");
    const { ticket } = await post<{ ticket: string }>(`/v1/sessions/${session.id}/ticket`);
    const c = open(wsUrl(`/v1/sessions/${session.id}/ws?ticket=${ticket}`));
    await c.ready;
    c.send({ type: "ping" });
    await c.waitFor((f) => f.type === "pong");
    c.ws.close();
    const again = open(wsUrl(`/v1/sessions/${session.id}/ws?ticket=${ticket}`));
    await expect(again.ready).rejects.toThrow(/401/);
  });
});
