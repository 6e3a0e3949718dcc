/** An answer we composed ourselves, sent as a JSON completion or streamed word by word like a model. */
import { SSE_DONE, sseData } from "../../../../lib/http/sse.js";
import type { ChatCall, ChatReply } from "../../../../lib/protocol/index.js";
import { promptText, toReadable } from "../stream.js";
import { chunk, completion, completionId, usageChunk, usageOf } from "../wire.js";
import type { PipelineDeps } from "./passthrough.js";

export function textReply(call: ChatCall, text: string, deps: PipelineDeps, extra: object = {}): ChatReply {
  const id = completionId();
  const model = call.body.model;
  const usage = usageOf(promptText(call.body.messages), text);
  if (call.body.stream !== true) {
    deps.settle(model, usage);
    return { kind: "json", completion: completion(id, model, text, usage, extra), upstreamMs: 0 };
  }
  const includeUsage = call.body.stream_options?.include_usage === true;
  async function* frames() {
    const words = text.match(/\S+\s*|\s+/g) ?? [""];
    yield sseData(chunk(id, model, { role: "assistant", content: "" }));
    for (const w of words) yield sseData(chunk(id, model, { content: w }));
    yield sseData({ ...chunk(id, model, {}, "stop"), ...extra });
    if (includeUsage) yield sseData(usageChunk(id, model, usage));
    yield SSE_DONE;
  }
  return { kind: "stream", body: toReadable(frames(), new AbortController(), () => deps.settle(model, usage)), upstreamMs: 0 };
}
