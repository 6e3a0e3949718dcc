/**
 * The HTTP caller's copy of a session turn's stream (a streamed chat completion with session_id). When the
 * turn is stopped (a cancel frame, the watchdog, a delete) the caller is told so with OpenAI's mid-stream
 * error event and the copy ends: it kept relaying an answer the session had recorded as cancelled, and, still
 * read, kept the upstream call alive.
 */
import { upstreamError } from "../../lib/errors.js";
import { sseData } from "../../lib/http/sse.js";
import { TurnStop } from "./turns.js";

export function stoppable(body: ReadableStream<Uint8Array>, signal: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const end = (c: ReadableStreamDefaultController<Uint8Array>, last?: Uint8Array) => {
    if (ended) return;
    ended = true;
    signal.removeEventListener("abort", onAbort);
    if (last) c.enqueue(last);
    c.close();
  };
  let onAbort = () => {};
  return new ReadableStream<Uint8Array>({
    start(c) {
      onAbort = () => {
        const e = signal.reason instanceof TurnStop ? signal.reason.toApiError() : upstreamError("The turn was stopped.");
        end(c, sseData(e.toBody()));
        void reader.cancel(signal.reason).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(c) {
      const { done, value } = await reader.read();
      if (ended) return;
      if (done) end(c);
      else c.enqueue(value);
    },
    cancel(reason) {
      ended = true;
      signal.removeEventListener("abort", onAbort);
      return reader.cancel(reason);
    },
  });
}
