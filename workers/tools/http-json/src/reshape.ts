/**
 * JMESPath (https://jmespath.site, community edition) to pick and reshape parts of the JSON, with the ways
 * an expression of a few characters can outgrow the isolate's memory closed: functions that allocate what
 * their argument says, intermediate values that repeat one sub-result until flattening or stringifying
 * them is huge, and results whose text is. Its time is bounded too: evaluation is synchronous, so the
 * call's deadline cannot stop it, and nested filters make a short expression's work exponential.
 */
import { compile, TreeInterpreter, type JSONValue } from "@jmespath-community/jmespath";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

/** Which argument (0-based) sizes what the function builds: pad_*'s width, replace's count. */
const SIZE_ARGUMENT: Record<string, number> = { pad_left: 1, pad_right: 1, replace: 3 };

type Expression = ReturnType<typeof compile>;

/** Compiled and checked before fetching, so a typo or an oversized pad costs no request. */
export function parseExpression(expression: string, maxSizeArgument: number): Expression {
  let ast: Expression;
  try {
    ast = compile(expression);
  } catch (err) {
    throw new ToolFailure("bad_expression", `invalid JMESPath expression: ${messageOf(err)}`);
  }
  assertSizes(ast, maxSizeArgument);
  return ast;
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

export interface Bounds {
  /** Characters of JSON any value built on the way may come to. */
  maxChars: number;
  /** Steps the whole evaluation may take (see `meter`). */
  maxSteps: number;
}

/**
 * Evaluates with every intermediate value's JSON size bounded by `maxChars`. `[@, @][] | [@, @][] | …`
 * doubles a flattened copy of the document at each step while its end result (`length(@)`) stays small,
 * and `to_string` of `[@, @] | [@, @] | …` writes 2^n copies: each step's input is checked before the
 * next builds on it, so nothing built can pass a few times the bound. Its work is bounded by `maxSteps`.
 */
export function reshape(json: unknown, ast: Expression | undefined, bounds: Bounds): unknown {
  if (!ast) return json;
  const interpreter = bounded(new Interpreter(), meter(bounds));
  try {
    // JSON.parse output is always a JSONValue; the library's type just cannot know that.
    return interpreter.search(ast, json as JSONValue);
  } catch (err) {
    if (err instanceof ToolFailure) throw err;
    throw new ToolFailure("bad_expression", `the JMESPath expression failed on this document: ${messageOf(err)}`);
  }
}

type Interpreter = typeof TreeInterpreter;
/** The library exports one shared instance; its class is reached through it so each call has its own. */
const Interpreter = TreeInterpreter.constructor as new () => Interpreter;

/**
 * Hands `check` every value a node evaluates to; scopes (`let`) make new interpreters, which hand theirs to
 * the same check, so one budget of steps spans them all.
 */
function bounded(interpreter: Interpreter, check: (value: unknown) => void): Interpreter {
  const visit = interpreter.visit.bind(interpreter);
  const withScope = interpreter.withScope.bind(interpreter);
  interpreter.visit = (node, value) => {
    const result = visit(node, value);
    check(result);
    return result;
  };
  interpreter.withScope = (scope) => bounded(withScope(scope), check);
  return interpreter;
}

/** Characters of JSON a node's value adds one step for: about what writing, copying or comparing them costs. */
const CHARS_PER_STEP = 16;

/**
 * Checks each value a node evaluates to and counts the evaluation's steps, refusing past `maxSteps`. The
 * values can stay small while the work grows: `[@,@,@,@][?[@,@,@,@][?…[?`true`]…]]` evaluates 4^n nodes
 * for n nested filters (12 take 40 s; 80 fit in 1,000 characters), and nothing else stops it: evaluation
 * never yields to the deadline's timer, nor does Date.now() move while it runs. A node's evaluation is
 * one step plus one per CHARS_PER_STEP characters of JSON of its value, because a visit is not all the
 * work: `items[?to_string($) != '']` writes the whole document once per item, and `==` on two
 * large values walks both, in a handful of visits each.
 */
function meter({ maxChars, maxSteps }: Bounds): (value: unknown) => void {
  const size = jsonSizer(maxChars);
  let steps = 0;
  return (value) => {
    const chars = size(value);
    if (chars > maxChars) throw intermediateTooLarge(maxChars);
    steps += 1 + Math.floor(chars / CHARS_PER_STEP);
    if (steps > maxSteps) throw tooCostly(maxSteps);
  };
}

/**
 * The length of a value's JSON (a repeated sub-value counted each time it appears), or some number past
 * `maxChars`. Sizes are remembered per object, so a value made of repeats of one sub-value is measured in
 * the time its distinct parts take, and the walk stops once past the bound.
 */
function jsonSizer(maxChars: number): (value: unknown) => number {
  const known = new WeakMap<object, number>();
  const size = (value: unknown): number => {
    if (typeof value !== "object" || value === null) return sizeOf(value);
    const seen = known.get(value);
    if (seen !== undefined) return seen;
    let n = 2;
    for (const [key, child] of Object.entries(value)) {
      n += (Array.isArray(value) ? 1 : key.length + 4) + size(child);
      if (n > maxChars) break;
    }
    known.set(value, n);
    return n;
  };
  return size;
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

const intermediateTooLarge = (maxChars: number) =>
  new ToolFailure("result_too_large", `the expression builds a value longer than ${maxChars} characters of JSON on the way; narrow it`);

const tooCostly = (maxSteps: number) =>
  new ToolFailure("expression_too_costly", `the expression takes more than ${maxSteps} steps to evaluate (nested filters or projections, or large values built again for each element); simplify it`);

const resultTooLarge = (maxChars: number) =>
  new ToolFailure("result_too_large", `the reshaped result is longer than ${maxChars} characters of JSON; narrow the expression`);

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
