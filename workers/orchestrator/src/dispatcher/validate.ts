/**
 * Arguments are checked against the tool's JSON Schema before any call (lib/tools/parameters-schema.ts).
 * A bad call never reaches the tool; the errors go back to the model so it can correct itself.
 */
import type { ValidationResult, Validator } from "@cfworker/json-schema";
import type { ToolManifest } from "../../../../lib/protocol/tool.js";
import { argsValidator, schemaErrorText } from "../../../../lib/tools/parameters-schema.js";

const validators = new Map<string, Validator>();

function validatorFor(m: ToolManifest): Validator {
  // The whole schema in the key: a tool re-registered with an edited schema under the same version must not
  // be checked against the old one by warm isolates.
  const key = `${m.name}@${m.version}:${JSON.stringify(m.parameters)}`;
  let v = validators.get(key);
  if (!v) validators.set(key, (v = argsValidator(m.parameters)));
  return v;
}

/**
 * A refusal's message is what the model hears. invalid_tool_schema: the tool's schema, not the call, is at
 * fault (registered before the admin API checked schemas).
 */
export type ParsedArgs = { ok: true; args: Record<string, unknown> } | { ok: false; code: "invalid_arguments" | "invalid_tool_schema"; message: string };

export function parseArgs(m: ToolManifest, raw: string): ParsedArgs {
  let args: unknown;
  try {
    args = raw.trim() ? JSON.parse(raw) : {};
  } catch {
    return invalid(m, "the arguments are not valid JSON");
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return invalid(m, "the arguments must be a JSON object");
  let r: ValidationResult;
  try {
    r = validatorFor(m).validate(args);
  } catch (err) {
    // Thrown out of the dispatcher, it would fail every call of the round with it, and so the whole answer.
    return { ok: false, code: "invalid_tool_schema", message: `${m.name} cannot be called: its parameters schema cannot be used (${schemaErrorText(err)}); no call to it runs until its operator fixes that` };
  }
  if (r.valid) return { ok: true, args: args as Record<string, unknown> };
  const leaf = r.errors.filter((e) => !/^(properties|allOf|anyOf|oneOf|\$ref)$/.test(e.keyword)).slice(0, 5);
  return invalid(m, (leaf.length ? leaf : r.errors.slice(0, 3)).map((e) => `${e.instanceLocation}: ${e.error}`).join("; "));
}

const invalid = (m: ToolManifest, why: string): ParsedArgs => ({ ok: false, code: "invalid_arguments", message: `invalid arguments for ${m.name}: ${why}` });
