import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepExpiredFiles } from "../../../lib/heavy/file-expiry.js";
import { newFileId, r2Keys } from "../../../lib/heavy/ids.js";
import { Logger } from "../../../lib/log.js";
import { FILES_SWEEP_CRON } from "../src/crons.js";
import Orchestrator from "../src/index.js";
import type { OrchestratorEnv } from "../src/env.js";
import { newTenant } from "./agent/helpers.js";

const e = env as unknown as OrchestratorEnv;
const log = new Logger({ component: "test" });

async function putFile(tenantId: string, expiresAt: number | null) {
  const id = newFileId();
  const key = r2Keys.file(tenantId, id);
  await e.FILES.put(key, "a\n1\n");
  await e.DB.prepare("INSERT INTO files (id, tenant_id, filename, purpose, bytes, r2_key, expires_at) VALUES (?, ?, 'f.csv', 'analysis', 4, ?, ?)").bind(id, tenantId, key, expiresAt).run();
  return { id, key };
}
const exists = async (f: { id: string; key: string }) => ({
  row: !!(await e.DB.prepare("SELECT 1 FROM files WHERE id = ?").bind(f.id).first()),
  content: !!(await e.FILES.head(f.key)),
});

describe("the sweep of expired files", () => {
  it("its hourly cron deletes expired files' content and rows, and keeps files not yet expired or with no expiry", async () => {
    const t = await newTenant();
    const expired = [await putFile(t, Date.now() - 60_000), await putFile(t, Date.now() - 1)];
    const later = await putFile(t, Date.now() + 3_600_000);
    const forever = await putFile(t, null);
    const ec = createExecutionContext();
    await new Orchestrator(ec, env as never).scheduled(createScheduledController({ cron: FILES_SWEEP_CRON, scheduledTime: Date.now() }));
    await waitOnExecutionContext(ec);
    for (const f of expired) expect(await exists(f)).toEqual({ row: false, content: false });
    for (const f of [later, forever]) expect(await exists(f)).toEqual({ row: true, content: true });
  });

  it("stops at its maximum per run, oldest expiry first; the next run takes the rest", async () => {
    const t = await newTenant();
    const files = [];
    for (let i = 0; i < 5; i++) files.push(await putFile(t, 1000 + i));
    expect(await sweepExpiredFiles(e, log, 3)).toBe(3);
    expect((await Promise.all(files.slice(0, 3).map(exists))).every((x) => !x.row && !x.content)).toBe(true);
    await sweepExpiredFiles(e, log, 1000);
    expect((await Promise.all(files.map(exists))).every((x) => !x.row && !x.content)).toBe(true);
  });
});
