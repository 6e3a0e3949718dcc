import { describe, expect, it } from "vitest";
import { chat, completionOf, mockOrigin, mockTool, newKey, newTenant, OPENAI, scripted, uniq, user } from "./helpers.js";

// Two of the tenant's tools offered: the seeded ones rank first, and with no statistics ties keep the registry's
// (name) order, so a tool named zz-… ranks below the cut.
const settings = { ...OPENAI, CIO_MAX_TOOLS_OFFERED: "2" };
const fn = (name: string) => ({ type: "function", function: { name } });

type Logged = { body: { tools?: { function: { name: string } }[] } };
const offeredIn = async (id: string) => ((await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as Logged[]).map((r) => r.body.tools?.map((t) => t.function.name));

async function lowRanked(tenantId: string, n = 1): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `zz-${i}-${uniq("low")}`);
  for (const name of names) await mockTool(tenantId, name);
  return names;
}

describe("the tools cio/auto offers its model", () => {
  it("only the best-ranked CIO_MAX_TOOLS_OFFERED of the tenant's tools when the client names none", async () => {
    const tenantId = await newTenant();
    const [low] = await lowRanked(tenantId);
    const id = uniq("auto");
    completionOf(await chat([scripted("hi", [{ text: "hello" }], id)], { tenantId, settings }));
    const [first] = await offeredIn(id);
    expect(first).toHaveLength(2);
    expect(first).not.toContain(low);
  });

  it("a tool_choice naming a tool the tenant holds is offered and called whatever its rank, in place of the lowest-ranked", async () => {
    const tenantId = await newTenant();
    const [low] = await lowRanked(tenantId);
    const id = uniq("named");
    const reply = await chat([scripted("go", [{ tool_calls: [{ name: low!, arguments: { mode: "echo" } }] }, { echoTools: true }], id)], { tenantId, settings, body: { tool_choice: fn(low!) } });
    expect(completionOf(reply).cio.tools).toEqual([expect.objectContaining({ name: low, ok: true })]);
    const [first, second] = await offeredIn(id);
    expect(first).toHaveLength(2);
    expect(first![0]).toBe(low);
    expect(second).toEqual(first);
  });

  it("allowed_tools offers every tool it lists, whatever their rank", async () => {
    const tenantId = await newTenant();
    const low = await lowRanked(tenantId, 3);
    const id = uniq("allowed");
    const tool_choice = { type: "allowed_tools", allowed_tools: { mode: "required", tools: low.map(fn) } };
    const reply = await chat([scripted("go", [{ tool_calls: [{ name: low[2]!, arguments: { mode: "echo" } }] }, { echoTools: true }], id)], { tenantId, settings, body: { tool_choice } });
    expect(completionOf(reply).cio.tools).toEqual([expect.objectContaining({ name: low[2], ok: true })]);
    expect((await offeredIn(id))[0]).toEqual(low);
  });

  it("a tool the caller's key may not be offered is still not among the tools: 400", async () => {
    const tenantId = await newTenant();
    // analyze_file starts a task, which takes the tasks scope.
    const reply = await chat([user("hi")], { tenantId, keyId: await newKey(tenantId, ["chat"]), settings, body: { tool_choice: fn("analyze_file") } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { param: "tool_choice", message: "tool_choice names 'analyze_file', which is not among the tools." } } });
  });
});
