/**
 * GET /docs works offline and runs only code the gateway ships: `npm start` prints its address with no
 * network at hand, and a script from a CDN, unpinned, would run with the gateway's origin.
 */
import { describe, expect, it } from "vitest";
import { call } from "../../../test/support/fixtures";

/** The addresses a page's tags load (`src` and `href`). */
const loadedBy = (html: string) => [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);

describe("the docs page", () => {
  it("loads its scripts and stylesheet from the gateway itself, none from another origin", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const loaded = loadedBy(await res.text());
    expect(loaded.filter((url) => !url.startsWith("/") || url.startsWith("//"))).toEqual([]);
    expect(loaded.length).toBeGreaterThanOrEqual(3); // the stylesheet, Swagger UI, and the script that starts it
    for (const url of loaded) {
      const asset = await call(url);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get("content-type"), url).toMatch(/^text\/(?:javascript|css)/);
      expect((await asset.text()).length, url).toBeGreaterThan(50);
    }
  });

  it("serves Swagger UI over /openapi.json, without its validator badge (a call to validator.swagger.io)", async () => {
    const loaded = loadedBy(await (await call("/docs")).text());
    const bodies = await Promise.all(loaded.map(async (url) => (await call(url)).text()));
    expect(bodies.some((b) => b.includes("SwaggerUIBundle") && b.length > 500_000)).toBe(true);
    const init = bodies.find((b) => b.includes("SwaggerUIBundle(") && b.length < 2000)!;
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
  });

  it("tells the browser to load nothing from another origin", async () => {
    const csp = (await call("/docs")).headers.get("content-security-policy") ?? "";
    const directives: Record<string, string[]> = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives["default-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).toEqual(["'self'"]);
    for (const values of Object.values(directives)) expect(values.filter((v) => /^(?:https?:|\*|\/\/)/.test(v))).toEqual([]);
  });
});
