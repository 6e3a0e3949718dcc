/**
 * A tool's `parameters` as the dispatcher checks calls with it: @cfworker/json-schema (it works in Workers
 * without code generation, which `eval`-free runtimes forbid). That validator compiles lazily: a `$ref` to
 * nothing or a `pattern` that is no regular expression throws only when a call reaches that part of the
 * schema, so the admin API and the registry's seed ask parametersProblem, which goes through all of it.
 */
import { dereference, validate, Validator, type Schema } from "@cfworker/json-schema";

const DRAFT = "2020-12";

/** The validator for a tool's arguments; every error reported (not only the first), so the model can fix them all. */
export const argsValidator = (parameters: Record<string, unknown>) => new Validator(parameters as Schema, DRAFT, false);

/**
 * A validator's error without what only its internals explain: an unresolved $ref's goes on with the URI it
 * resolved to (under the library's placeholder base) and every schema it knows.
 */
export const schemaErrorText = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).split("\n")[0]!.replace(/\s+Absolute URI .*$/, "").trim().slice(0, 300);

/**
 * Why `parameters` cannot check a tool's arguments, or null when it can. Beyond a check of `{}` (what a
 * call with no arguments reaches), every subschema the validator knows is looked at: its `$ref` must resolve
 * as the validator resolves it, and its `pattern` and `patternProperties` must compile as it compiles them.
 */
export function parametersProblem(parameters: Record<string, unknown>): string | null {
  try {
    // A copy: dereference marks the schema objects it walks.
    const schema = structuredClone(parameters) as Schema;
    const lookup = dereference(schema);
    validate({}, schema, DRAFT, lookup, false);
    for (const s of Object.values(lookup)) if (typeof s === "object") compiles(s, lookup);
    return null;
  } catch (err) {
    return schemaErrorText(err);
  }
}

function compiles(s: Schema, lookup: Record<string, Schema | boolean>) {
  if (s.$ref !== undefined && lookup[s.__absolute_ref__ ?? s.$ref] === undefined) throw new Error(`Unresolved $ref "${s.$ref}".`);
  // Throws "Invalid regular expression: /(/u: Unterminated group", as a call reaching it would.
  for (const p of [...(s.pattern === undefined ? [] : [s.pattern]), ...Object.keys(s.patternProperties ?? {})]) new RegExp(p, "u");
}
