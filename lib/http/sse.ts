/** Server-sent events exactly as OpenAI sends them: `data: <json>\n\n`, ending with `data: [DONE]\n\n`. */
const enc = new TextEncoder();

export const sseData = (value: unknown) => enc.encode(`data: ${JSON.stringify(value)}\n\n`);
export const SSE_DONE = enc.encode("data: [DONE]\n\n");
/** A comment line; OpenAI clients ignore it, so it can carry progress without breaking them. */
/** A comment line; CR ends an SSE line as LF does, so neither may stay in it (a model-written argument could forge an event). */
export const sseComment = (text: string) => enc.encode(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
} as const;
