import { ApiError, upstreamError } from "../../../lib/errors.js";
import { sseData } from "../../../lib/http/sse.js";

/**
 * An abort controller for a pipeline's own work (upstream calls, the agent loop) that also aborts when the
 * caller stops waiting (`stopped`: a session turn cancelled or timed out while its JSON answer was pending).
 */
export function pipelineAbort(stopped?: AbortSignal): AbortController {
  const abort = new AbortController();
  if (stopped?.aborted) abort.abort(stopped.reason);
  else stopped?.addEventListener("abort", () => abort.abort(stopped.reason), { once: true });
  return abort;
}

/**
 * Turns an async generator of SSE bytes into a ReadableStream that crosses the service binding. When the
 * client goes away the gateway cancels its end, the cancel travels back over RPC, and we abort the
 * upstream call instead of paying for tokens nobody reads.
 */
export function toReadable(gen: AsyncGenerator<Uint8Array>, abort: AbortController, onEnd?: () => void) {
  let ended = false;
  const end = () => {
    if (!ended) (ended = true), onEnd?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await gen.next();
        if (done) {
          controller.close();
          end();
        } else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
        end();
      }
    },
    async cancel(reason) {
      abort.abort(reason ?? new Error("client disconnected"));
      end();
      await gen.return(undefined);
    },
  });
}

/**
 * A message's content as text, for pipelines that read it as words (a council's question, the builtin
 * planner's tool results, our token estimates): text parts joined, any other part named by its type. As JSON,
 * a client's content parts became the question itself (`[{"type":"text",...}]`). No content (an assistant's
 * tool calls) is no text. A part that is not text (an image, audio, a file) counts in an estimate as its type's
 * name: its base64 bytes at four characters a token put a phone photo at hundreds of thousands of tokens,
 * against the tenant's budget.
 */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (content == null) return "";
  if (!Array.isArray(content)) return JSON.stringify(content);
  return content.map((p: { type?: unknown; text?: unknown }) => (p?.type === "text" && typeof p.text === "string" ? p.text : `[${String(p?.type)}]`)).join(" ");
}

/** A failure after the stream started cannot change the status any more: it is sent as an error event. */
export async function* safely(frames: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* frames;
  } catch (err) {
    yield sseData(asApiError(err).toBody());
  }
}

/** What reaches the client for a failure after the answer began: ours to describe, not an internal 500. */
export const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : upstreamError(`The answer broke off: ${err instanceof Error ? err.message : String(err)}`);
