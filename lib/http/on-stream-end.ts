/**
 * Wraps a body stream so `onEnd` runs exactly once when it finishes, fails or is cancelled by the client.
 * Cancellation is passed on to the source, so a disconnect still reaches whoever produces the bytes.
 */
export function onStreamEnd<T>(source: ReadableStream<T>, onEnd: () => void): ReadableStream<T> {
  const reader = source.getReader();
  let done = false;
  const finish = () => {
    if (!done) (done = true), onEnd();
  };
  return new ReadableStream<T>({
    async pull(controller) {
      try {
        const r = await reader.read();
        if (r.done) {
          controller.close();
          finish();
        } else controller.enqueue(r.value);
      } catch (err) {
        controller.error(err);
        finish();
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason);
    },
  });
}
