/**
 * Reading a stream while time passes: workerd's clock stands still until I/O, so a stream made in one burst
 * never crosses a second by itself. The test's clock is moved on between the first chunk and the rest.
 */
import { vi } from "vitest";

/** The `created` of every data chunk of an SSE stream, with Date.now moved `skipMs` on once the first chunk arrived. */
export async function createdWhileTimePasses(body: ReadableStream<Uint8Array>, skipMs = 5_000): Promise<number[]> {
  const real = Date.now.bind(Date);
  let offset = 0;
  const clock = vi.spyOn(Date, "now").mockImplementation(() => real() + offset);
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += decoder.decode(r.value, { stream: true });
      if (text.includes("data: {")) offset = skipMs;
    }
  } finally {
    clock.mockRestore();
  }
  return text
    .split("\n\n")
    .filter((b) => b.startsWith("data: {"))
    .map((b) => (JSON.parse(b.slice(6)) as { created: number }).created);
}
