import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const client = () => new OpenAI({ baseURL: `${inject("stackUrl")}/v1`, apiKey: inject("stackKey"), maxRetries: 0 });
const CLOSES = "44.34,44.09,44.15,43.61,44.33,44.83,45.10,45.42,45.84,46.08,45.89,46.03,45.61,46.28,46.28";

describe("cio/auto offline through `npm start` (builtin provider, real tool Workers)", () => {
  it("routes an RSI request to technical-analysis and answers with the number", async () => {
    const r = await client().chat.completions.create({ model: "cio/auto", messages: [{ role: "user", content: `Compute the RSI(14) of these closes: ${CLOSES}` }] });
    const text = r.choices[0]!.message.content!;
    expect(text).toMatch(/RSI\(14\) = 70\.\d+/);
    expect(text).toContain("no language model was used");
    expect((r as unknown as { cio: { tools: { name: string; ok: boolean }[] } }).cio.tools).toEqual([expect.objectContaining({ name: "technical-analysis", ok: true })]);
  });

  it("streams the same answer, with the tool activity on the last chunk", async () => {
    const stream = await client().chat.completions.create({ model: "cio/auto", stream: true, messages: [{ role: "user", content: `RSI(14) of these closes: ${CLOSES}` }] });
    let text = "";
    let last: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      last = c;
    }
    expect(text).toMatch(/RSI\(14\) = 70\.\d+/);
    expect((last as { cio: { tools: { name: string }[] } }).cio.tools[0]!.name).toBe("technical-analysis");
  });
});
