/** The tool's arguments. Defaults live in code (and in the descriptions) so callers may omit them. */
import { z } from "zod";

export const DEFAULT_COUNT = 5;

export const WebSearchArgs = z
  .object({
    query: z.string().trim().min(1).max(400).describe("what to search the web for"),
    count: z.number().int().min(1).max(20).optional().describe("number of results, 1-20 (default 5)"),
    freshness: z
      .enum(["pd", "pw", "pm", "py"])
      .optional()
      .describe("only pages from the past day (pd), week (pw), month (pm) or year (py)"),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/)
      .optional()
      .describe("two-letter country code to localise results, e.g. US or DE"),
  })
  .strict();
export type WebSearchArgs = z.infer<typeof WebSearchArgs>;
