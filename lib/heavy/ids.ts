/** Public ids in OpenAI's style (`file-…`, `batch_…`) and ours (`task_…`); random, so unguessable. */
const rand = () => crypto.randomUUID().replace(/-/g, "").slice(0, 24);
export const newTaskId = () => `task_${rand()}`;
export const newFileId = () => `file-${rand()}`;
export const newBatchId = () => `batch_${rand()}`;

/** R2 keys always start with the tenant, so a key made from one tenant's context cannot reach another's. */
export const r2Keys = {
  file: (tenantId: string, fileId: string) => `tenants/${tenantId}/files/${fileId}`,
  taskInput: (tenantId: string, taskId: string) => `tenants/${tenantId}/tasks/${taskId}/input.json`,
  taskResult: (tenantId: string, taskId: string) => `tenants/${tenantId}/tasks/${taskId}/result.json`,
  /** No extension: the format (PNG or JPEG) is known only once the model answered; it is the object's content type. */
  taskImage: (tenantId: string, taskId: string) => `tenants/${tenantId}/tasks/${taskId}/image`,
  /** Named by the claim that wrote them: a delivery that lost its part cannot overwrite the files of the one that ended it
   * (parts ended before claims existed have none). */
  batchPart: (tenantId: string, batchId: string, part: number, kind: "output" | "error", claim: string | null = null) =>
    `${r2Keys.batchParts(tenantId, batchId)}${part}.${claim ? `${claim}.` : ""}${kind}.jsonl`,
  batchParts: (tenantId: string, batchId: string) => `tenants/${tenantId}/batches/${batchId}/parts/`,
};

export const toUnixSeconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
