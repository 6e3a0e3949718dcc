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
  /** The Retry-After header of that failure (a 429's, say). */
  retryAfter?: string;
  /** More headers of that failure (retry-after-ms, x-should-retry). */
  errorHeaders?: Record<string, string>;
  /** The `code` of that failure's OpenAI error body (a number plays an upstream that sends one). */
  errorCode?: string | number;
  /** That failure's body exactly as given: another server's error shape, or an HTML page. */
  errorBody?: string;
  /** Fail the first N attempts with `status` (default 503), then answer normally. */
  failTimes?: number;
  errorMessage?: string;
  delayMs?: number;
  chunkDelayMs?: number;
  /** Emit SSE comment lines between chunks, as some upstreams do. */
  comments?: boolean;
  /** Send no usage at all, as some OpenAI-compatible servers do. */
  noUsage?: boolean;
  /** Answer 200 with exactly this body (as application/json): an upstream that sends something broken. */
  rawBody?: string;
  /** End the response cleanly after this many content chunks, with no finish_reason and no [DONE]. */
  endAfter?: number;
  /** Cut the connection after this many content chunks. */
  breakAfter?: number;
  /** Send `data: {"error":…}` after this many content chunks. */
  errorAfter?: number;
  /** Put usage on the last content chunk instead of a separate usage-only chunk. */
  usageOnLastChunk?: boolean;
  /** Report this usage instead of the counted one: an upstream whose usage is broken (strings, negative counts). */
  usage?: Record<string, unknown>;
  /** The finish_reason of a text answer (default "stop"): "length" plays a model cut by max_tokens. */
  finishReason?: string;
  /**
   * A tool-calling model: step i answers round i of an agent loop. The round is counted from the request
   * itself (assistant messages with tool_calls after the last user message), so the mock stays stateless.
   * Past the end of the script the last step repeats.
   */
  script?: ScriptStep[];
  /**
   * Answers chosen by what the prompt says: the first case whose `when` strings all occur in the request's
   * messages (the directive itself excluded) answers, its fields over the directive's. Lets one scripted
   * question drive many calls — a council's assistants and rounds — deterministically.
   */
  cases?: DirectiveCase[];
}

export type DirectiveCase = Omit<Directive, "cases"> & { when: string[] };

/** The directive that applies to a request whose prompt (all messages, directive removed) is `prompt`. */
export function resolveCase(d: Directive, prompt: string): Directive {
  const hit = d.cases?.find((c) => c.when.every((w) => prompt.includes(w)));
  if (!d.cases) return d;
  const { cases: _all, ...rest } = d;
  if (!hit) return rest;
  const { when: _when, ...fields } = hit;
  return { ...rest, ...fields };
}

export type ScriptCall = { name: string; arguments: unknown; id?: string; custom?: boolean };

export interface ScriptStep {
  /**
   * Ask for these tool calls (streamed as OpenAI does: name first, arguments in pieces); `id` plays a server that
   * numbers them, `custom` a call of a GPT-5 custom (free-form) tool, whose `arguments` string is its input.
   */
  tool_calls?: ScriptCall[];
  /** Answer with this text. */
  text?: string;
  /** Answer with the contents of the tool messages since the last user message, joined by " | ". */
  echoTools?: boolean;
  /** This step's finish_reason (default "tool_calls" for tool calls, else the directive's); string arguments may be cut to play "length". */
  finishReason?: string;
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
