/**
 * http-json: fetch JSON from an operator-approved API and keep only what the question needs, so a model
 * (or the builtin planner) reads a small, relevant answer instead of a whole payload.
 */
import { z } from "zod";
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolEntrypoint, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { fetchJson } from "./fetch-json.js";
import { parseExpression, reshape, resultJson } from "./reshape.js";
import { settingsFrom, type Env } from "./settings.js";

const HttpJsonArgs = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe("the JSON URL to GET; must be under an allow-listed prefix"),
    expression: z
      .string()
      .min(1)
      .max(1_000)
      .optional()
      .describe("JMESPath expression to reshape the JSON, e.g. items[*].{name: name, price: price}"),
  })
  .strict();
type HttpJsonArgs = z.infer<typeof HttpJsonArgs>;

export default class HttpJsonTool extends ToolEntrypoint<Env, typeof HttpJsonArgs> {
  readonly args = HttpJsonArgs;
  readonly info = {
    name: "http-json",
    description:
      "GET JSON from an allow-listed HTTP API and extract or reshape fields with a JMESPath expression.",
    timeoutMs: 10_000,
    version: "1.0.0",
    examples: [
      "Fetch https://api.example.com/v1/status and return the status field",
      "Get the JSON at this URL and list the names of all items",
      "Call the API endpoint and extract data.price with JMESPath",
      "Read the JSON feed and show the first 3 entries' titles",
    ],
  };

  protected async run(args: HttpJsonArgs, ctx: ToolContext): Promise<ToolResult> {
    const settings = settingsFrom(this.env);
    const expression = args.expression ? parseExpression(args.expression, settings.maxSizeArgument) : undefined;
    const fetched = await fetchJson(new URL(args.url), settings, ctx);
    const maxChars = settings.maxBytes * settings.intermediateFactor;
    const result = reshape(fetched.json, expression, { maxChars, maxSteps: settings.maxSteps });
    const json = resultJson(result, settings.maxBytes);
    // Indented only when short: indenting a long, deeply nested result could multiply its length.
    const text = json.length <= settings.maxContentChars ? (JSON.stringify(result, null, 2) ?? "null") : json;
    const content =
      text.length > settings.maxContentChars
        ? `${text.slice(0, settings.maxContentChars)}\n… (truncated at ${settings.maxContentChars} characters; the full result is in data)`
        : text;
    return toolOk(content, { url: fetched.url, status: fetched.status, result });
  }
}
