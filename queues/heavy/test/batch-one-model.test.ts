/**
 * A batch runs one model, as OpenAI's Batch API requires of an input file: a file whose lines name different
 * models fails validation with an error on each line that differs, and so does one whose model the
 * orchestrator does not serve (instead of running every request to be answered model_not_found).
 */
import { describe, expect, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { batchRow, drain, readTask, sentTo, taskMessage, validatingBatch } from "./support.js";

const line = (customId: string, content: string, model: string) =>
  JSON.stringify({ custom_id: customId, method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content }] } });

/** Plans a batch of `models` (one request each, asking the mock model under `<run>-<i>`); how it ended, and what the model got. */
async function planned(models: string[]) {
  const run = crypto.randomUUID().slice(0, 8);
  const input = models.map((m, i) => line(`r${i}`, withDirective(`q${i}`, { id: `${run}-${i}` }), m)).join("\n");
  const { tenantId, batchId, task } = await validatingBatch(input);
  await drain([taskMessage(task)]);
  const sends = await Promise.all(models.map(async (_, i) => (await sentTo(`${run}-${i}`)).length));
  return { row: await batchRow(tenantId, batchId), task: await readTask(task.id), sends };
}

describe("a batch's model", () => {
  it("an input file mixing models fails validation, each line naming another model than the first reported", async () => {
    const { row, task, sends } = await planned(["mock-model", "some-other-model", "mock-model", "cio/auto"]);
    expect(row.status).toBe("failed");
    expect(row.errors).toEqual([
      { code: "mixed_models", line: 2, param: "body.model", message: expect.stringContaining("'some-other-model' differs from 'mock-model' (line 1)") },
      { code: "mixed_models", line: 4, param: "body.model", message: expect.stringContaining("'cio/auto' differs from 'mock-model' (line 1)") },
    ]);
    expect(task).toMatchObject({ status: "failed", error: { code: "invalid_batch" } });
    expect(sends).toEqual([0, 0, 0, 0]);
  });

  it("a model the orchestrator does not serve fails validation as model_not_found, naming the models it serves", async () => {
    const { row, task, sends } = await planned(["no-such-model", "no-such-model"]);
    expect(row.status).toBe("failed");
    expect(row.errors).toEqual([{ code: "model_not_found", line: 1, param: "body.model", message: expect.stringContaining("'no-such-model' does not exist") }]);
    expect(row.errors![0]!.message).toContain("mock-model");
    expect(task).toMatchObject({ status: "failed", error: { code: "invalid_batch" } });
    expect(sends).toEqual([0, 0]);
  });

  it("one model the orchestrator serves plans and runs the batch", async () => {
    const { row, sends } = await planned(["mock-model", "mock-model"]);
    expect(row).toMatchObject({ status: "completed", completed: 2, failed: 0, errors: null });
    expect(sends).toEqual([1, 1]);
  });
});
