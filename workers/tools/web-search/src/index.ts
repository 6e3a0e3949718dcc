/** web-search: current information from the web through the Brave Search API. */
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolEntrypoint, ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { DEFAULT_COUNT, WebSearchArgs } from "./args.js";
import { braveWebSearch, type SearchHit } from "./brave.js";
import { settingsFrom, type Env } from "./settings.js";

export default class WebSearchTool extends ToolEntrypoint<Env, typeof WebSearchArgs> {
  readonly args = WebSearchArgs;
  readonly info = {
    name: "web-search",
    description:
      "Search the web (Brave Search) for current information, news, documentation or facts; returns the " +
      "top results with title, URL and a snippet.",
    timeoutMs: 8_000,
    version: "1.0.0",
    examples: [
      "Search the web for the latest news about Cloudflare Workers",
      "Look up who won the 2026 World Cup",
      "Find documentation for Durable Objects alarms",
      "What happened in the markets today? Search for news",
      "Google the release date of Node.js 24",
    ],
  };

  protected async run(args: WebSearchArgs, ctx: ToolContext): Promise<ToolResult> {
    const { apiKey, baseUrl, retryAfterMaxMs } = settingsFrom(this.env);
    if (!apiKey) {
      throw new ToolFailure("not_configured", "web-search needs the BRAVE_API_KEY secret (wrangler secret put BRAVE_API_KEY)");
    }
    const count = args.count ?? DEFAULT_COUNT;
    const hits = await braveWebSearch({ baseUrl, apiKey, args, count, signal: ctx.signal, retryAfterMaxMs });
    return toolOk(describe(args.query, hits), { query: args.query, results: hits });
  }
}

function describe(query: string, hits: SearchHit[]): string {
  if (hits.length === 0) return `No web results for "${query}".`;
  const lines = hits.map((h, i) => {
    const age = h.age ? ` (${h.age})` : "";
    return `${i + 1}. ${h.title}${age}\n   ${h.url}\n   ${h.description}`;
  });
  return `Top ${hits.length} web results for "${query}":\n${lines.join("\n")}`;
}
