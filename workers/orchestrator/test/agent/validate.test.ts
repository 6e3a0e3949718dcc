import { describe, expect, it } from "vitest";
import type { ToolManifest } from "../../../../lib/protocol/tool.js";
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
