/**
 * Every `$ref` in /openapi.json points inside the document. OpenAPI 3.1 reads `#` as the document's root
 * (no schema here carries an `$id`), so a schema inlined with its own `$defs` leaves a reference that Swagger
 * UI, Redocly and client generators cannot resolve.
 */
import { describe, expect, it } from "vitest";
import { call } from "../../../test/support/fixtures";

type Json = Record<string, unknown>;

/** Every `$ref` string anywhere in `node`. */
function refsIn(node: unknown, found: string[] = []): string[] {
  if (node && typeof node === "object") {
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string") found.push(ref);
    for (const child of Object.values(node)) refsIn(child, found);
  }
  return found;
}

/** What a local JSON Pointer (`#/a/b~1c`) names in `doc`, or undefined. */
function resolve(doc: Json, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  const tokens = ref.slice(1).split("/").slice(1).map((t) => decodeURIComponent(t).replace(/~1/g, "/").replace(/~0/g, "~"));
  return tokens.reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Json)[key] : undefined), doc);
}

describe("OpenAPI references", () => {
  it("resolve within the document, every one", async () => {
    const doc = (await (await call("/openapi.json")).json()) as Json;
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(10);
    expect([...new Set(refs)].filter((ref) => resolve(doc, ref) === undefined)).toEqual([]);
  });

  it("name the request body of POST /v1/sessions as a component", async () => {
    const doc = (await (await call("/openapi.json")).json()) as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: Json }> } }>> };
    const schema = doc.paths["/v1/sessions"]!.post!.requestBody.content["application/json"]!.schema;
    expect(resolve(doc as unknown as Json, schema.$ref as string)).toMatchObject({ type: "object", properties: { title: {}, model: {} } });
  });
});
