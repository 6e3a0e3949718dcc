/**
 * The builtin provider: deterministic and model-free, so the platform answers on a fresh machine with no
 * account and no network. It never pretends to be a language model; every answer says so.
 */
import type { ChatMessage } from "../../../../../lib/protocol/index.js";

export const BUILTIN_NOTICE = "(Answered by CIO Edge's builtin planner; no language model was used.)";

export function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    return m.content
      .map((p) => (p.type === "text" && typeof p.text === "string" ? p.text : ""))
      .join(" ")
      .trim();
  }
  return "";
}

/** With no tool to run, the honest answer is to say what was understood and what would answer it. */
export function builtinAnswer(messages: ChatMessage[]): string {
  const question = lastUserText(messages);
  const quoted = question.length > 200 ? `${question.slice(0, 200)}…` : question;
  return [
    `I received: "${quoted}".`,
    "No tool matched this request, and no language model is configured to answer it in free form.",
    "Set CIO_UPSTREAM_BASE_URL (any OpenAI-compatible API) or deploy with Workers AI for open-ended answers.",
    BUILTIN_NOTICE,
  ].join(" ");
}
