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

/** Concatenated text of a conversation, for token estimates when a provider reports none. */
export const promptText = (messages: { content?: unknown }[]) =>
  messages.map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""))).join("\n");
