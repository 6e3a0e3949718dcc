/**
 * How a test scripts the mock model: the last user message may end with `MOCK:{json}`. Keeping the script
 * in the request (not in server state) lets many test files share one mock concurrently.
 */
export interface Directive {
  /** Key for attempt counting and for the request log. */
  id?: string;
  /** The answer text; default "Echo: <the user message>". */
  text?: string;
  /** Answer with this HTTP status and an OpenAI error body. */
  status?: number;
  /** Fail the first N attempts with `status` (default 503), then answer normally. */
  failTimes?: number;
  errorMessage?: string;
  delayMs?: number;
  chunkDelayMs?: number;
  /** Emit SSE comment lines between chunks, as some upstreams do. */
  comments?: boolean;
  /** Send no usage at all, as some OpenAI-compatible servers do. */
  noUsage?: boolean;
  /** Cut the connection after this many content chunks. */
  breakAfter?: number;
  /** Send `data: {"error":…}` after this many content chunks. */
  errorAfter?: number;
  /** Put usage on the last content chunk instead of a separate usage-only chunk. */
  usageOnLastChunk?: boolean;
  /**
   * A tool-calling model: step i answers round i of an agent loop. The round is counted from the request
   * itself (assistant messages with tool_calls after the last user message), so the mock stays stateless.
   * Past the end of the script the last step repeats.
   */
  script?: ScriptStep[];
}

export interface ScriptStep {
  /** Ask for these tool calls (streamed as OpenAI does: name first, arguments in pieces). */
  tool_calls?: { name: string; arguments: unknown }[];
  /** Answer with this text. */
  text?: string;
  /** Answer with the contents of the tool messages since the last user message, joined by " | ". */
  echoTools?: boolean;
}

const MARK = "MOCK:";

export function parseDirective(userText: string): { text: string; directive: Directive } {
  const at = userText.lastIndexOf(MARK);
  if (at < 0) return { text: userText, directive: {} };
  try {
    return { text: userText.slice(0, at).trim(), directive: JSON.parse(userText.slice(at + MARK.length)) as Directive };
  } catch {
    return { text: userText, directive: {} };
  }
}

export const withDirective = (text: string, d: Directive) => `${text} ${MARK}${JSON.stringify(d)}`;
