/**
 * The document lists every status a route really answers. Each route in /openapi.json is called the way a
 * client gets it wrong (no credentials, a suspended tenant, ids that name nothing, a body that is not JSON or
 * is too big, a spent rate) and the status it answers must be among those the document gives it, with
 * OpenAI's error body: client generators type the errors from there, and an undocumented one is untyped.
 */
import { describe, expect, it } from "vitest";
import { ADMIN, admin, call, newTenant } from "../../../test/support/fixtures";
import { runnerToken } from "../../../test/support/fake-runner";

type Operation = { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>; security?: Record<string, string[]>[] };
type Doc = { paths: Record<string, Record<string, Operation>> };
type Route = { method: string; path: string; op: Operation; scheme: string | undefined };

const document = async () => (await (await call("/openapi.json")).json()) as Doc;
const routesOf = (doc: Doc): Route[] =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op, scheme: Object.keys(op.security?.[0] ?? {})[0] })));
/** A path whose every parameter names nothing (`{symbol}` and `{model}` included: both take a plain word). */
const urlOf = (path: string) => path.replace(/\{[^}]+\}/g, "nope0");
const sendsBody = (method: string) => method === "POST" || method === "PUT" || method === "PATCH";

/**
 * Calls each route as `init` says: no route may answer a status its documentation does not give, and some must
 * answer each of `expected` (so a probe that went wrong cannot pass for want of errors).
 */
async function expectDocumented(routes: Route[], init: (r: Route) => RequestInit, expected: number[]) {
  const undocumented: string[] = [];
  const answered = new Set<number>();
  for (const r of routes) {
    const res = await call(urlOf(r.path), { method: r.method, ...init(r) });
    await res.body?.cancel();
    answered.add(res.status);
    const documented = Object.keys(r.op.responses);
    if (!documented.includes(String(res.status))) undocumented.push(`${r.method} ${r.path} answered ${res.status}, documents ${documented.join(",")}`);
  }
  expect(undocumented).toEqual([]);
  expect([...answered]).toEqual(expect.arrayContaining(expected));
}

const jsonInit = (headers: Record<string, string>) => (r: Route): RequestInit => ({ headers, body: sendsBody(r.method) ? "{}" : undefined });

describe("OpenAPI error statuses", () => {
  it("document 401 wherever a route answers a request without credentials", async () => {
    const routes = routesOf(await document()).filter((r) => r.scheme);
    expect(routes.length).toBeGreaterThan(50);
    await expectDocumented(routes, jsonInit({ "content-type": "application/json" }), [401]);
  });

  it("document 403 for a suspended tenant's key", async () => {
    const t = await newTenant();
    await admin("PATCH", `/admin/tenants/${t.tenantId}`, { status: "suspended" });
    const routes = routesOf(await document()).filter((r) => r.scheme === "bearer");
    await expectDocumented(routes, jsonInit(t.headers), [403]);
  });

  it("document what each route answers for ids that name nothing and an empty body (404, 400, 426, ...)", async () => {
    const t = await newTenant();
    const routes = routesOf(await document()).filter((r) => r.scheme === "bearer" || r.scheme === "admin");
    await expectDocumented(routes, (r) => jsonInit(r.scheme === "admin" ? ADMIN : t.headers)(r), [400, 404, 426]);
  });

  it("document 415 and 413 wherever a body can be sent", async () => {
    const t = await newTenant();
    const routes = routesOf(await document()).filter((r) => (r.scheme === "bearer" || r.scheme === "admin") && sendsBody(r.method));
    const headers = (r: Route) => (r.scheme === "admin" ? ADMIN : t.headers);
    await expectDocumented(routes, (r) => ({ headers: { ...headers(r), "content-type": "text/plain" }, body: "hello" }), [415]);
    // Past CIO_MAX_BODY_BYTES (1 MiB by default).
    await expectDocumented(routes, (r) => ({ headers: headers(r), body: `{"x":"${"x".repeat(1024 * 1024)}"}` }), [413]);
  });

  it("document 429 wherever a key's spent rate refuses the request", async () => {
    const t = await newTenant({ rpm_limit: 1 });
    expect((await call("/v1/batches", { method: "POST", headers: t.headers, body: "{}" })).status).toBe(400);
    const routes = routesOf(await document()).filter((r) => r.scheme === "bearer");
    await expectDocumented(routes, jsonInit(t.headers), [429]);
  });

  it("document the errors a route's own work answers: an unknown model, an offline runner", async () => {
    const doc = await document();
    const t = await newTenant();
    await runnerToken(t.tenantId, "warehouse");
    const probes: [string, string, unknown, number][] = [
      ["/v1/chat/completions", "/v1/chat/completions", { model: "nope", messages: [{ role: "user", content: "hi" }] }, 404],
      ["/v1/runners/warehouse/query", "/v1/runners/{name}/query", { sql: "SELECT 1" }, 503],
      ["/v1/runners/warehouse/queries/q1/cancel", "/v1/runners/{name}/queries/{id}/cancel", {}, 404],
    ];
    for (const [url, path, body, status] of probes) {
      const res = await call(url, { method: "POST", headers: t.headers, body: JSON.stringify(body) });
      expect(res.status, url).toBe(status);
      expect(Object.keys(doc.paths[path]!.post!.responses), path).toContain(String(status));
    }
  });

  it("give every error of an authenticated route OpenAI's error body", async () => {
    // (Not /health/deep's 503, which is its report with a failing status.)
    const errors = routesOf(await document()).filter((r) => r.scheme).flatMap((r) =>
      Object.entries(r.op.responses)
        .filter(([status]) => Number(status) >= 400)
        .map(([status, res]) => ({ at: `${r.method} ${r.path} ${status}`, ref: res.content?.["application/json"]?.schema.$ref })),
    );
    expect(errors.filter((e) => e.ref !== "#/components/schemas/Error").map((e) => e.at)).toEqual([]);
  });
});
