/**
 * JMESPath (https://jmespath.site, community edition) to pick and reshape parts of the JSON, with the two
 * ways an expression of a few characters can outgrow the isolate's memory closed: functions that allocate
 * what their argument says, and results that repeat one sub-result until their text is huge.
 */
import { compile, search, type JSONValue } from "@jmespath-community/jmespath";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

/** Which argument (0-based) sizes what the function builds: pad_*'s width, replace's count. */
const SIZE_ARGUMENT: Record<string, number> = { pad_left: 1, pad_right: 1, replace: 3 };

/** Checked before fetching, so a typo or an oversized pad costs no request. */
export function assertExpression(expression: string, maxSizeArgument: number): void {
  let ast: unknown;
  try {
    ast = compile(expression);
  } catch (err) {
    throw new ToolFailure("bad_expression", `invalid JMESPath expression: ${messageOf(err)}`);
  }
  assertSizes(ast, maxSizeArgument);
}

/**
 * Walks every node (any object property may hold children). A size must be a literal: one computed from
 * the document or by arithmetic could not be checked before it is used.
 */
function assertSizes(node: unknown, max: number): void {
  if (typeof node !== "object" || node === null) return;
  const n = node as { type?: string; name?: string; children?: unknown[] };
  if (n.type === "Literal") return; // a JSON literal's contents are data, not nodes
  const at = n.type === "Function" && n.name ? SIZE_ARGUMENT[n.name] : undefined;
  const arg = at === undefined ? undefined : (n.children?.[at] as { type?: string; value?: unknown } | undefined);
  if (arg && !(arg.type === "Literal" && typeof arg.value === "number" && arg.value <= max)) {
    const what = n.name === "replace" ? "count" : "width";
    throw new ToolFailure("bad_expression", `${n.name}'s ${what} must be a literal number of at most ${max}`);
  }
  for (const child of Object.values(n)) assertSizes(child, max);
}

export function reshape(json: unknown, expression: string | undefined): unknown {
  if (!expression) return json;
  try {
    // JSON.parse output is always a JSONValue; the library's type just cannot know that.
    return search(json as JSONValue, expression);
  } catch (err) {
    throw new ToolFailure("bad_expression", `the JMESPath expression failed on this document: ${messageOf(err)}`);
  }
}

/**
 * The result as compact JSON, refused once it passes `maxChars`. Counted while writing, because a result
 * can hold one sub-result many times over (`@ | [@, @] | [@, @] | …` doubles at each step): small in
 * memory, exponentially long as text. The count is an estimate (escapes lengthen strings), so the text
 * is measured again at the end.
 */
export function resultJson(result: unknown, maxChars: number): string {
  let written = 0;
  const text = JSON.stringify(result, function count(this: unknown, key: string, value: unknown) {
    written += (Array.isArray(this) ? 1 : key.length + 4) + sizeOf(value);
    if (written > maxChars) throw resultTooLarge(maxChars);
    return value;
  });
  if (text === undefined) return "null";
  if (text.length > maxChars) throw resultTooLarge(maxChars);
  return text;
}

function sizeOf(value: unknown): number {
  if (typeof value === "string") return value.length + 2;
  if (typeof value === "number") return String(value).length;
  return typeof value === "object" && value !== null ? 2 : 5;
}

const resultTooLarge = (maxChars: number) =>
  new ToolFailure("result_too_large", `the reshaped result is longer than ${maxChars} characters of JSON; narrow the expression`);

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
