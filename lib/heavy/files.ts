/** File rows and their OpenAI shape; every lookup is by tenant and id, so other tenants' files are "not found". */
import { and, eq, gt, isNull, or } from "drizzle-orm";
import { notFound } from "../errors.js";
import { openDb, schema } from "../db/index.js";
import type { FileObject } from "../protocol/heavy.js";
import { toUnixSeconds } from "./ids.js";

export type FileRow = typeof schema.files.$inferSelect;

/** A file past its `expires_at` is gone for every use at once, though the sweep deletes it later. */
export const unexpired = (now = Date.now()) => or(isNull(schema.files.expiresAt), gt(schema.files.expiresAt, now));

/** The file, or undefined when the tenant has none by that id (or it expired); a failed lookup throws. */
export async function findFile(d1: D1Database, tenantId: string, id: string): Promise<FileRow | undefined> {
  const f = schema.files;
  const [row] = await openDb(d1).select().from(f).where(and(eq(f.tenantId, tenantId), eq(f.id, id), unexpired())).limit(1);
  return row;
}

export async function getFile(d1: D1Database, tenantId: string, id: string): Promise<FileRow> {
  const row = await findFile(d1, tenantId, id);
  if (!row) throw notFound(`No such File object: ${id}`, "file_not_found");
  return row;
}

export const toFileObject = (r: FileRow): FileObject => ({
  id: r.id,
  object: "file",
  bytes: r.bytes,
  created_at: toUnixSeconds(r.createdAt)!,
  expires_at: toUnixSeconds(r.expiresAt),
  filename: r.filename,
  purpose: r.purpose,
  status: "processed",
});
