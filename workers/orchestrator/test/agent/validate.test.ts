import { describe, expect, it } from "vitest";
import type { ToolManifest } from "../../../../lib/protocol/tool.js";
import { parametersProblem } from "../../../../lib/tools/parameters-schema.js";
import { parseArgs } from "../../src/dispatcher/validate.js";

const manifest = (required: string): ToolManifest => ({
  name: "weather",
  description: "Weather in a place",
  parameters: { type: "object", properties: { city: { type: "string" }, town: { type: "string" } }, required: [required] },
  timeoutMs: 1000,
  version: "1.0.0",
});

describe("argument validation", () => {
  it("a tool re-registered with an edited schema under the same version is checked against the new one", () => {
    expect(parseArgs(manifest("city"), '{"city": "Oslo"}')).toEqual({ ok: true, args: { city: "Oslo" } });
    // Same name, version and schema length: a warm isolate once kept validating against the old schema.
    expect(parseArgs(manifest("town"), '{"city": "Oslo"}')).toMatchObject({ ok: false });
  });
});

describe("a parameters schema the validator cannot use", () => {
  const tool = (parameters: Record<string, unknown>): ToolManifest => ({ ...manifest("city"), name: "broken", parameters });
  const badPattern = { type: "object", properties: { mode: { type: "string", pattern: "(" } } };
  const badRef = { type: "object", properties: { mode: { $ref: "#/$defs/mode" } } };

  it("fails the call as the tool's fault (invalid_tool_schema), not by throwing", () => {
    expect(parseArgs(tool(badPattern), '{"mode": "echo"}')).toMatchObject({ ok: false, code: "invalid_tool_schema", message: expect.stringContaining("broken cannot be called") });
    expect(parseArgs(tool(badRef), '{"mode": "echo"}')).toMatchObject({ ok: false, code: "invalid_tool_schema", message: expect.stringContaining('Unresolved $ref "#/$defs/mode"') });
    // Parts of the schema the arguments do not reach are not compiled: this call is checked and passes.
    expect(parseArgs(tool(badPattern), "{}")).toEqual({ ok: true, args: {} });
  });

  it("is found wherever it is in the schema, not only where an empty call reaches", () => {
    expect(parametersProblem(badPattern)).toMatch(/Invalid regular expression: \/\(\/u/);
    expect(parametersProblem(badRef)).toMatch(/Unresolved \$ref "#\/\$defs\/mode"/);
    expect(parametersProblem({ type: "object", patternProperties: { "[": { type: "string" } } })).toMatch(/Invalid regular expression: \/\[\/u/);
    expect(parametersProblem({ type: "object", allOf: [{ $ref: "#/$defs/place" }] })).toMatch(/Unresolved \$ref/);
    expect(parametersProblem({ type: "object", $id: "a", $defs: { x: { $id: "a" } } })).toMatch(/Duplicate schema URI/);
  });

  it("leaves schemas it can use alone: local references, anchors, unicode patterns", () => {
    const parameters = {
      type: "object",
      $defs: { city: { type: "string", pattern: "^\\p{L}+$" }, unit: { $anchor: "unit", enum: ["c", "f"] } },
      properties: { city: { $ref: "#/$defs/city" }, unit: { $ref: "#unit" }, tags: { type: "object", patternProperties: { "^x-": { type: "string" } } } },
    };
    expect(parametersProblem(parameters)).toBeNull();
    expect(JSON.stringify(parameters)).not.toContain("__absolute"); // checked on a copy
    expect(parseArgs(tool(parameters), '{"city": "München", "unit": "c"}')).toEqual({ ok: true, args: { city: "München", unit: "c" } });
  });
});
