import { describe, expect, it } from "vitest";
import { table } from "../../src/tools/sql/render.js";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, toolCalls, uniq } from "./helpers.js";

describe("the size of what a tool answers", () => {
  it("a tool answering 1 MB reaches the model capped at CIO_TOOL_MAX_CONTENT_CHARS, with a note of the cut", async () => {
    const tenantId = await newTenant();
    const name = uniq("big");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "big", n: 1_000_000 } }] }, { echoTools: true }])], { tenantId, settings: OPENAI }));
    expect(reply.cio.tools[0]).toMatchObject({ name, ok: true });
    // The mock model answers with the tool message it was given: that is what went into its context.
    const seen = reply.choices[0]!.message.content!;
    expect(seen.startsWith("x".repeat(32_000))).toBe(true);
    expect(seen.endsWith("\n…(truncated: 32000 of 1000000 characters)")).toBe(true);
    expect(seen.length).toBeLessThan(32_100);
  });

  it("an HTTPS tool answering more than CIO_TOOL_MAX_RESPONSE_BYTES fails clearly, once, and is not read whole", async () => {
    const tenantId = await newTenant();
    const name = uniq("huge");
    const key = uniq("k");
    await mockTool(tenantId, name);
    const reply = completionOf(
      await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "big", n: 300_000, key } }] }, { echoTools: true }])], { tenantId, settings: { ...OPENAI, CIO_TOOL_MAX_RESPONSE_BYTES: "100000" } }),
    );
    expect(reply.cio.tools[0]).toMatchObject({ name, ok: false, error: { code: "tool_response_too_large", message: expect.stringContaining("more than 100000 bytes") } });
    expect(reply.choices[0]!.message.content).toContain(`${name} failed (tool_response_too_large)`);
    expect(await toolCalls(key)).toBe(1);
  });

  it("the sql tool's table cuts long cells (the whole value stays in its data)", () => {
    const long = "y".repeat(5_000);
    const t = table([{ name: "id" }, { name: "note" }], [[1, long], [2, { deep: long }]]);
    expect(t).toContain(`| 1 | ${"y".repeat(200)}… (5000 chars) |`);
    expect(t.length).toBeLessThan(1_000);
  });
});
