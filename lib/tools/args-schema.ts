/**
 * A tool's manifest `parameters`, generated from the zod schema its execute() checks the arguments with.
 * The dispatcher checks calls against this JSON Schema before they reach the tool, so the two must agree:
 * a call the tool would take must not be refused on its way there.
 */
import { z } from "zod";

export function argsJsonSchema(args: z.ZodType): Record<string, unknown> {
  const parameters = z.toJSONSchema(args, { target: "draft-2020-12", io: "input", override: zodDecidesUrls }) as Record<string, unknown>;
  delete parameters.$schema;
  return parameters;
}

/**
 * z.url() becomes `format: "uri"`, which the dispatcher's validator asserts as RFC 3986: it refused
 * ?city=München and ?q=new york, which zod (the WHATWG URL parser) takes and fetch() sends percent-encoded.
 * The field stays a string; the tool's own check of it decides.
 */
function zodDecidesUrls(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { format?: string } } })._zod?.def;
  if (def?.format === "url") delete ctx.jsonSchema.format;
}
