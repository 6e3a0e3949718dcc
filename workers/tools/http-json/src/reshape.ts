/** JMESPath (https://jmespath.site, community edition) to pick and reshape parts of the JSON. */
import { compile, search, type JSONValue } from "@jmespath-community/jmespath";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

/** Checked before fetching, so a typo costs no request. */
export function assertExpression(expression: string): void {
  try {
    compile(expression);
  } catch (err) {
    throw new ToolFailure("bad_expression", `invalid JMESPath expression: ${messageOf(err)}`);
  }
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

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
