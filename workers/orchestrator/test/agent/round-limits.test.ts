import { describe, expect, it } from "vitest";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, toolCalls, uniq } from "./helpers.js";

describe("what one model round may ask of the tools", () => {
  it("calls past CIO_MAX_TOOL_CALLS_PER_ROUND are not run, and the model is told why", async () => {
    const tenantId = await newTenant();
    const name = uniq("many");
    await mockTool(tenantId, name);
    const keys = [uniq("k"), uniq("k"), uniq("k")];
    const calls = keys.map((key) => ({ name, arguments: { mode: "echo", key } }));
    const settings = { ...OPENAI, CIO_MAX_TOOL_CALLS_PER_ROUND: "2" };
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { echoTools: true }])], { tenantId, settings }));
    expect(await Promise.all(keys.map(toolCalls))).toEqual([1, 1, 0]);
    expect(reply.cio.tools.map((t) => t.ok)).toEqual([true, true, false]);
    expect(reply.cio.tools[2]).toMatchObject({ error: { code: "too_many_calls", message: expect.stringContaining("at most 2 tool calls run per round") } });
    expect(reply.choices[0]!.message.content).toContain(`${name} failed (too_many_calls)`);
  });

  it("the results of one round share CIO_TOOL_MAX_ROUND_CHARS: a short one is kept whole, long ones are cut with a note", async () => {
    const tenantId = await newTenant();
    const [big, small] = [uniq("big"), uniq("small")];
    await mockTool(tenantId, big);
    await mockTool(tenantId, small);
    const calls = [
      { name: big, arguments: { mode: "big", n: 50_000 } },
      { name: small, arguments: { mode: "echo" } },
      { name: big, arguments: { mode: "big", n: 50_000 } },
    ];
    const settings = { ...OPENAI, CIO_TOOL_MAX_ROUND_CHARS: "20000" };
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { echoTools: true }])], { tenantId, settings }));
    // The mock model answers with the tool messages it was given, joined by " | ": what went into its context.
    const [first, echo, last] = reply.choices[0]!.message.content!.split(" | ");
    expect(echo).toBe(`echo ${small}: {"mode":"echo"}`);
    const share = Math.floor((20_000 - echo!.length) / 2);
    for (const cut of [first!, last!]) {
      expect(cut.startsWith("x".repeat(share))).toBe(true);
      expect(cut).toContain(`…(truncated: ${share} of 50000 characters, to fit the 20000 characters all tool results of one round may take)`);
    }
  });

  it("a failure whose code is no identifier is the tool's bad response, so what the model reads stays bounded", async () => {
    const tenantId = await newTenant();
    const name = uniq("huge-code");
    await mockTool(tenantId, name);
    const settings = { ...OPENAI, CIO_TOOL_MAX_ROUND_CHARS: "2000" };
    const calls = [{ name, arguments: { mode: "fail", code: "x".repeat(100_000) } }];
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { echoTools: true }])], { tenantId, settings }));
    expect(reply.cio.tools[0]).toMatchObject({ ok: false, error: { code: "tool_bad_response", message: expect.stringContaining("error.code: error codes are 1-64") } });
    // The tool message as the model got it: the code is ours, and the message fits the round.
    expect(reply.choices[0]!.message.content).toContain(`${name} failed (tool_bad_response)`);
    expect(reply.choices[0]!.message.content!.length).toBeLessThan(2_000);
  });
});
