/** The query of a paged list (sessions, tasks, batches, councils): OpenAI's `limit` and `after` cursor. */
import { z } from "zod";

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The last id of the previous page. */
  after: z.string().optional(),
});
