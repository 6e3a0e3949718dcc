/**
 * Arguments are checked against the tool's JSON Schema before any call, with @cfworker/json-schema (a
 * validator that works in Workers without code generation, which `eval`-free runtimes forbid). A bad
 * call never reaches the tool; the errors go back to the model so it can correct itself.
 */
import { Validator } from "@cfworker/json-schema";
import type { ToolManifest } from "../../../../lib/protocol/tool.js";

const validators = new Map<string, Validator>();

function validatorFor(m: ToolManifest): Validator {
  // The whole schema in the key: a tool re-registered with an edited schema under the same version must not
  // be checked against the old one by warm isolates.
  const key = `${m.name}@${m.version}:${JSON.stringify(m.parameters)}`;
  let v = validators.get(key);
  if (!v) validators.set(key, (v = new Validator(m.parameters as never, "2020-12", false)));
  return v;
}

export type ParsedArgs = { ok: true; args: Record<string, unknown> } | { ok: false; message: string };

export function parseArgs(m: ToolManifest, raw: string): ParsedArgs {
  let args: unknown;
  try {
    args = raw.trim() ? JSON.parse(raw) : {};
  } catch {
    return { ok: false, message: "the arguments are not valid JSON" };
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return { ok: false, message: "the arguments must be a JSON object" };
  const r = validatorFor(m).validate(args);
  if (r.valid) return { ok: true, args: args as Record<string, unknown> };
  const leaf = r.errors.filter((e) => !/^(properties|allOf|anyOf|oneOf|\$ref)$/.test(e.keyword)).slice(0, 5);
  return { ok: false, message: (leaf.length ? leaf : r.errors.slice(0, 3)).map((e) => `${e.instanceLocation}: ${e.error}`).join("; ") };
}
