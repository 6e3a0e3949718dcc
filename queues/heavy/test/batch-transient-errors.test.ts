/**
 * A model's transient error (a 429, a 5xx) on a batch request is not the request's answer: it is sent again
 * later, as a chat_completion task's is and as OpenAI's Batch API does, without sending again the requests
 * already answered. A 429 that says when to come back sends the part back to the queue delayed, using none of
 * its retries; a 5xx goes through the queue's retries, and when those run out the request's line is the
 * model's last answer. A 4xx, or a 429 that says not to retry (a spent quota), is final at once. Batches are
 * run from their planning message to their end, every message the consumer sends delivered as Queues would.
 */
import { describe, expect, it } from "vitest";
import { withDirective, type Directive } from "../../../test/mock-upstream/directive.js";
import { batchRow, drain, env, fileLines, sentTo, taskMessage, validatingBatch } from "./support.js";

const line = (customId: string, content: string) =>
  JSON.stringify({ custom_id: customId, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content }] } });

/** A batch of `ok` plain requests and one, `flaky`, whose model answers as `fault` says; run to its end. */
async function runBatch(fault: Directive) {
  const run = crypto.randomUUID().slice(0, 8);
  const oks = ["ok0", "ok1", "ok2"];
  const input = [...oks.map((id) => line(id, withDirective(id, { id: `${run}-${id}` }))), line("flaky", withDirective("q", { id: `${run}-flaky`, ...fault }))];
  const { tenantId, batchId, task } = await validatingBatch(input.join("\n"));
  const drained = await drain([taskMessage(task)], { ...env, CIO_HEAVY_RETRY_BASE_S: "0" });
  const row = await batchRow(tenantId, batchId);
  return {
    drained,
    row,
    output: await fileLines(tenantId, row.outputFileId),
    errors: await fileLines(tenantId, row.errorFileId),
    okSends: await Promise.all(oks.map(async (id) => (await sentTo(`${run}-${id}`)).length)),
    flakySends: (await sentTo(`${run}-flaky`)).length,
  };
}

const maxAttempts = () => Number(env.TEST_MAX_RETRIES) + 1;

describe("a batch request the model answers with a transient error", () => {
  it("a 429 with Retry-After sends the part back to the queue delayed, without using a retry, and the request is answered then", async () => {
    const r = await runBatch({ failTimes: 1, status: 429, retryAfter: "5" });
    expect(r.row).toMatchObject({ status: "completed", completed: 4, failed: 0, errorFileId: null });
    expect(r.output.map((o) => o.response?.status_code)).toEqual([200, 200, 200, 200]);
    expect({ okSends: r.okSends, flakySends: r.flakySends }).toEqual({ okSends: [1, 1, 1], flakySends: 2 });
    expect(r.drained.sent.filter((m) => m.body.kind === "batch_part" && m.delaySeconds === 5)).toHaveLength(1);
    expect(r.drained).toMatchObject({ retries: 0, deadLetters: 0 });
  });

  it("a 5xx fails the attempt, and the queue's retry sends that request alone again", async () => {
    const r = await runBatch({ failTimes: 2, status: 503 });
    expect(r.row).toMatchObject({ status: "completed", completed: 4, failed: 0, errorFileId: null });
    expect({ okSends: r.okSends, flakySends: r.flakySends }).toEqual({ okSends: [1, 1, 1], flakySends: 3 });
    expect(r.drained).toMatchObject({ retries: 2, deadLetters: 0 });
  });

  it("a 5xx every time ends, once the retries run out, with the model's last answer as the request's error line", async () => {
    const r = await runBatch({ status: 503, errorMessage: "the provider is down" });
    expect(r.row).toMatchObject({ status: "completed", completed: 3, failed: 1 });
    expect(r.drained.deadLetters).toBe(1);
    expect({ okSends: r.okSends, flakySends: r.flakySends }).toEqual({ okSends: [1, 1, 1], flakySends: maxAttempts() });
    expect(r.errors).toHaveLength(1);
    const [last] = r.errors;
    expect(last).toMatchObject({ custom_id: "flaky", response: { status_code: 502 }, error: null });
    expect(last!.response!.body.error!.message).toContain("the provider is down");
  });

  it("a 4xx, or a 429 that says not to retry (a spent quota), is the request's final line at once", async () => {
    for (const fault of [{ status: 400, errorMessage: "bad request" }, { status: 429, errorCode: "insufficient_quota" }]) {
      const r = await runBatch(fault);
      expect(r.row).toMatchObject({ status: "completed", completed: 3, failed: 1 });
      expect(r.errors.map((e) => [e.custom_id, e.response?.status_code])).toEqual([["flaky", fault.status]]);
      expect({ okSends: r.okSends, flakySends: r.flakySends }).toEqual({ okSends: [1, 1, 1], flakySends: 1 });
      expect(r.drained).toMatchObject({ retries: 0, deadLetters: 0 });
    }
  });
});
