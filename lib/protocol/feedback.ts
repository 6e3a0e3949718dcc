/** POST /v1/feedback: a user's rating of one answer, named by the request id it was given. */
import { z } from "zod";

export const FeedbackRequestSchema = z
  .object({
    /**
     * Up to 300: a session socket's turn is recorded under the upgrade's request id (up to 128), a dot and the
     * turn id (up to 128), which its `message` and `error` events give as `request_id`.
     */
    request_id: z.string().min(1).max(300).describe("the x-request-id of the rated answer, or the request_id of a session turn's message event"),
    rating: z.number().min(-1).max(1).describe("-1 (bad) … 1 (good)"),
    comment: z.string().max(2000).optional(),
  })
  .meta({ id: "FeedbackRequest" });
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;

export const FeedbackResultSchema = z
  .object({ request_id: z.string(), rating: z.number(), tools: z.array(z.string()) })
  .meta({ id: "FeedbackResult" });
export type FeedbackResult = z.infer<typeof FeedbackResultSchema>;
