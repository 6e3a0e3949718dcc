/**
 * analyze_file: the brain's way to hand a file analysis to the heavy queue. It answers at once with the
 * task id; progress and the result reach the session as `task` events (the brain passes the request's
 * session_id in the arguments) and `GET /v1/tasks/:id`.
 */
import { z } from "zod";
import { publishTask } from "../../../../lib/heavy/events.js";
import { sessionExists } from "../../../../lib/db/sessions.js";
import { findFile } from "../../../../lib/heavy/files.js";
import { Logger } from "../../../../lib/log.js";
import { enqueueTask } from "../../../../lib/heavy/tasks.js";
import { AnalysisParamsSchema } from "../../../../lib/protocol/heavy.js";
import { toolFail, toolOk } from "../../../../lib/protocol/tool.js";
import { argsJsonSchema } from "../../../../lib/tools/args-schema.js";
import type { LocalTool } from "./local-tool.js";

const ArgsSchema = AnalysisParamsSchema.extend({
  file_id: z.string().min(1).describe("The id of an uploaded file (purpose 'analysis'), e.g. file-abc123"),
  group_by: z.string().min(1).max(256).optional().describe("Column to group rows by"),
  session_id: z.string().optional().describe("The chat session to report progress to"),
});

export const analyzeFile: LocalTool = {
  // It starts a task, as POST /v1/tasks with a file_analysis does under that scope.
  scopes: ["tasks"],
  manifest: {
    name: "analyze_file",
    description:
      "Analyse an uploaded CSV or Excel (.xlsx) file in the background: per-column types, nulls, min/max/mean " +
      "and top values, optionally aggregates grouped by a column. Starts a task and returns its id at once.",
    parameters: argsJsonSchema(ArgsSchema),
    timeoutMs: 10_000,
    version: "1.0.0",
    examples: [
      "Analyse the CSV file file-abc123",
      "Give me statistics of the columns in my uploaded spreadsheet",
      "Summarise sales.csv grouped by region with the sum of revenue",
    ],
  },

  async execute(env, input) {
    const args = ArgsSchema.safeParse(input.args);
    if (!args.success) return toolFail("invalid_arguments", z.prettifyError(args.error));
    const { session_id, ...params } = args.data;
    const log = new Logger({ component: "analyze_file", requestId: input.requestId, tenantId: input.tenantId });
    // A lookup that failed is not a missing file: the model would tell the user their file does not exist.
    const file = await findFile(env.DB, input.tenantId, params.file_id).catch((err: unknown) => (log.error("file lookup failed", { err, fileId: params.file_id }), null));
    if (file === null) return toolFail("storage_unavailable", "The file store could not be read; try again shortly.", true);
    if (!file) return toolFail("file_not_found", `No uploaded file '${params.file_id}' for this tenant.`);
    if (file.purpose !== "analysis") return toolFail("wrong_purpose", `File ${file.id} was uploaded for '${file.purpose}'; upload it with purpose 'analysis'.`);
    // As POST /v1/tasks checks it: the task's events would otherwise create a new, empty session object.
    if (session_id && !(await sessionExists(env.DB, input.tenantId, session_id))) return toolFail("session_not_found", `No session with id '${session_id}'.`);
    // Under the chat's key, as POST /v1/tasks stores it: revoking the key stops the task (task-standing.ts).
    const task = await enqueueTask(env, { tenantId: input.tenantId, requestId: input.requestId, type: "file_analysis", params, sessionId: session_id ?? null, keyId: input.keyId }).catch(
      (err: unknown) => (log.error("analysis task not enqueued", { err, fileId: file.id }), null),
    );
    if (!task) return toolFail("queue_unavailable", "The task queue did not accept the analysis; try again shortly.", true);
    await publishTask(env, task, log);
    return toolOk(
      `Started analysis task ${task.id} of ${file.filename}. It runs in the background: progress and the result arrive as task events on the session, or at GET /v1/tasks/${task.id}.`,
      { task_id: task.id, status: task.status, file_id: file.id },
    );
  },
};
