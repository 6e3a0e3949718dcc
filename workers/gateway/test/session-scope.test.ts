/**
 * A session_id anywhere (a chat, a task, a council) needs the 'sessions' scope: the work reads the session or
 * publishes its events there, and a key narrowed to tasks or councils must not write into sessions other keys
 * of its tenant watch. The scope is checked before the session is looked up, so such a key learns nothing of
 * which ids exist.
 */
import { describe, expect, it } from "vitest";
import { admin, call, newTenant } from "../../../test/support/fixtures.js";
import { uploaded } from "../../../test/support/heavy.js";

describe("session_id needs the sessions scope on every route that takes it", () => {
  it("a tasks-only key and a councils-only key are refused 403 for a session of their tenant, known or not, and nothing is created", async () => {
    const t = await newTenant();
    const s = (await (await call("/v1/sessions", { method: "POST", headers: t.headers, body: "{}" })).json()) as { id: string };
    const keyWith = async (scopes: string[]) => ({
      authorization: `Bearer ${(await admin<{ key: string }>("POST", `/admin/tenants/${t.tenantId}/keys`, { name: scopes.join("+"), scopes })).key}`,
      "content-type": "application/json",
    });
    const file = await uploaded(t.headers, "w.csv", "a,b\n1,2\n");
    const tasksOnly = await keyWith(["tasks"]);
    const councilsOnly = await keyWith(["councils"]);
    const council = (sessionId: string) =>
      JSON.stringify({ question: "Agree?", assistants: [{ id: "alpha", persona: "You are alpha.", model: "mock-model" }], options: ["YES", "NO"], max_rounds: 1, session_id: sessionId });

    for (const sessionId of [s.id, "sess_unknown"]) {
      const task = await call("/v1/tasks", { method: "POST", headers: tasksOnly, body: JSON.stringify({ type: "file_analysis", params: { file_id: file.id }, session_id: sessionId }) });
      expect(task.status).toBe(403);
      expect(await task.json()).toMatchObject({ error: { code: "insufficient_scope", type: "permission_error" } });
      const c = await call("/v1/councils", { method: "POST", headers: councilsOnly, body: council(sessionId) });
      expect(c.status).toBe(403);
      expect(await c.json()).toMatchObject({ error: { code: "insufficient_scope" } });
    }
    expect(await (await call("/v1/tasks", { headers: t.headers })).json()).toMatchObject({ data: [] });
    expect(await (await call("/v1/councils", { headers: t.headers })).json()).toMatchObject({ data: [] });

    // Without a session_id the same keys do their work.
    expect((await call("/v1/tasks", { method: "POST", headers: tasksOnly, body: JSON.stringify({ type: "file_analysis", params: { file_id: file.id } }) })).status).toBe(202);
  });
});
