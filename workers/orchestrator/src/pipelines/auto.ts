/** `cio/auto`: the orchestrator chooses how to answer. Until the agent loop lands it is the builtin planner. */
import type { ChatCall, ChatReply } from "../../../../lib/protocol/index.js";
import { builtinAnswer } from "../providers/builtin/index.js";
import type { PipelineDeps } from "./passthrough.js";
import { textReply } from "./text-reply.js";

export async function auto(call: ChatCall, deps: PipelineDeps): Promise<ChatReply> {
  return textReply(call, builtinAnswer(call.body.messages), deps, { cio: { provider: "builtin", tools: [] } });
}
