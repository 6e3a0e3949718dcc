/**
 * A tool whose parameters schema the dispatcher's validator cannot use (a $ref to nothing, a pattern that is
 * no regular expression). The admin API refuses such a schema now; these rows stand for tools registered
 * before it did, and for bound Workers that answer with one. The dispatcher's own refusal of such a call
 * (invalid_tool_schema, should one reach it) is tested in validate.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { Logger } from "../../../../lib/log.js";
import { seedRegistry } from "../../src/registry/seed.js";
import type { OrchestratorEnv } from "../../src/env.js";
import { baseEnv, chat, completionOf, mockOrigin, mockTool, newTenant, OPENAI, scripted, toolCalls, uniq } from "./helpers.js";

/** Written as the registry held it before POST /admin/tools checked schemas: private, granted to `tenantId`. */
async function registeredBefore(tenantId: string, name: string, parameters: Record<string, unknown>) {
  const manifest = { name, description: `Scripted test tool ${name}`, parameters, timeoutMs: 2000, version: "1.0.0" };
  await baseEnv.DB.prepare("INSERT INTO tools (name, transport, target, manifest, public) VALUES (?, 'https', ?, ?, 0)")
    .bind(name, `${mockOrigin()}/tools/${name}`, JSON.stringify(manifest))
    .run();
  await baseEnv.DB.prepare("INSERT INTO tool_grants (tenant_id, tool_name) VALUES (?, ?)").bind(tenantId, name).run();
}

describe("a tool whose parameters schema cannot be used", () => {
  it("is not offered: a call of it is refused as unknown (never sent to the tool) while the round's other calls run and the answer comes", async () => {
    const tenantId = await newTenant();
    const [pattern, ref, fine] = [uniq("badpattern"), uniq("badref"), uniq("fine")];
    const [kp, kr, kf] = [uniq("kp"), uniq("kr"), uniq("kf")];
    await registeredBefore(tenantId, pattern, { type: "object", properties: { mode: { type: "string", pattern: "(" }, key: { type: "string" } } });
    await registeredBefore(tenantId, ref, { type: "object", properties: { mode: { $ref: "#/$defs/mode" }, key: { type: "string" } } });
    await mockTool(tenantId, fine);
    const calls = [pattern, ref, fine].map((name, i) => ({ name, arguments: { mode: "echo", key: [kp, kr, kf][i] } }));
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { echoTools: true }])], { tenantId, settings: OPENAI }));
    const byName = new Map(reply.cio.tools.map((t) => [t.name, t]));
    expect(byName.get(fine)).toMatchObject({ ok: true });
    expect(byName.get(pattern)).toMatchObject({ ok: false, error: { code: "unknown_tool" } });
    expect(byName.get(ref)).toMatchObject({ ok: false, error: { code: "unknown_tool" } });
    expect([await toolCalls(kp), await toolCalls(kr), await toolCalls(kf)]).toEqual([0, 0, 1]);
  });

  it("is left out of the registry's seed when a bound Worker answers with it, and said so at error level", async () => {
    const name = uniq("bound-broken");
    const manifest = { name, description: "A bound Worker with a broken schema", parameters: { type: "object", properties: { q: { type: "string", pattern: "[" } } }, timeoutMs: 2000, version: "1.0.0" };
    const env = { ...baseEnv, TOOL_BROKEN: { fetch: () => new Response(null), manifest: async () => manifest } } as unknown as OrchestratorEnv;
    const log = new Logger({ component: "test" }, "error");
    const errors = vi.spyOn(log, "error");
    await seedRegistry(env, log);
    expect(await baseEnv.DB.prepare("SELECT name FROM tools WHERE name = ?").bind(name).first()).toBeNull();
    expect(await baseEnv.DB.prepare("SELECT name FROM tools WHERE name = 'technical-analysis'").first()).not.toBeNull(); // the others are seeded
    expect(errors).toHaveBeenCalledWith(expect.stringContaining("parameters schema cannot be used"), expect.objectContaining({ tool: name, target: "TOOL_BROKEN" }));
  });
});
