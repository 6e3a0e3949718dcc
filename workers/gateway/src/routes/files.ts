/**
 * OpenAI Files API: `POST /v1/files` streams the multipart upload into R2 (never buffered whole, capped
 * at CIO_FILES_MAX_BYTES), then records the file; get, list, download and delete are per tenant.
 */
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { ApiError, badRequest } from "../../../../lib/errors.js";
import { auditInsert } from "../../../../lib/db/audit.js";
import { deleteListed } from "../../../../lib/db/deleted-rows.js";
import { openDb, schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { fileInUse } from "../../../../lib/heavy/file-expiry.js";
import { getFile, toFileObject, unexpired } from "../../../../lib/heavy/files.js";
import { newFileId, r2Keys } from "../../../../lib/heavy/ids.js";
import { streamToR2, TooLarge } from "../../../../lib/heavy/r2-upload.js";
import { attachment } from "../../../../lib/http/content-disposition.js";
import { mediaType } from "../../../../lib/http/media-type.js";
import { boundaryOf, MultipartError, readMultipart } from "../../../../lib/http/multipart.js";
import { EXPIRES_AFTER_S, ExpiresAfterSchema, FileObjectSchema, ListFilesQuerySchema, UPLOAD_PURPOSES } from "../../../../lib/protocol/heavy.js";
import { requireScope } from "../middleware/auth.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router } from "../validation.js";
import { byKey } from "./key-audit.js";
import { errorBody, IdParam, json, keyRoute, PageSchema, rateLimited } from "./openapi.js";

export const isUpload = (path: string, method: string) => method === "POST" && path === "/v1/files";

const MAX_FIELD_BYTES = 1024;

const notFound = { 404: errorBody("No such file") };

/**
 * The upload's form is read by hand as it streams (a validator would buffer it whole), so its schema is
 * given as plain JSON Schema, which the route documents without validating.
 */
const UPLOAD_FORM = {
  type: "object" as const,
  required: ["file", "purpose"],
  properties: {
    file: { type: "string" as const, format: "binary", description: "The file; at most CIO_FILES_MAX_BYTES" },
    purpose: { type: "string" as const, enum: [...UPLOAD_PURPOSES] },
    "expires_after[anchor]": { type: "string" as const, enum: ["created_at"] },
    "expires_after[seconds]": { type: "integer" as const, minimum: EXPIRES_AFTER_S.min, maximum: EXPIRES_AFTER_S.max },
  },
};

const upload = keyRoute("post", "/v1/files", "Upload a file (multipart/form-data, streamed to R2) for a batch or an analysis", {
  middleware: [rateLimit({ spendsTokens: false })] as const,
  request: { body: { required: true, content: { "multipart/form-data": { schema: UPLOAD_FORM } } } },
  responses: {
    200: { description: "The file", ...json(FileObjectSchema) },
    400: errorBody("Invalid form"),
    413: errorBody("The file exceeds CIO_FILES_MAX_BYTES"),
    415: errorBody("Not multipart/form-data"),
    ...rateLimited,
  },
});
const list = keyRoute("get", "/v1/files", "List the tenant's unexpired files, newest first; pass the last id as `after` for the next page", {
  request: { query: ListFilesQuerySchema },
  responses: { 200: { description: "A page of files", ...json(PageSchema(FileObjectSchema)) }, 400: errorBody("Invalid query") },
});
const get = keyRoute("get", "/v1/files/{id}", "Read a file's record", {
  request: { params: IdParam },
  responses: { 200: { description: "The file", ...json(FileObjectSchema) }, ...notFound },
});
const content = keyRoute("get", "/v1/files/{id}/content", "Download a file's content", {
  request: { params: IdParam },
  responses: { 200: { description: "The bytes, with the content type they were uploaded with", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } }, ...notFound },
});
const remove = keyRoute("delete", "/v1/files/{id}", "Delete a file and its content", {
  request: { params: IdParam },
  responses: {
    200: { description: "Deleted", ...json(z.object({ id: z.string(), object: z.literal("file"), deleted: z.literal(true) })) },
    ...notFound,
    409: errorBody("A batch or an analysis that has not ended still reads it"),
  },
});

export const files = router();
files.use("/v1/files", requireScope("files"));
files.use("/v1/files/*", requireScope("files"));

files.openapi(upload, async (c) => {
  const s = c.get("settings");
  const tenantId = c.get("auth").tenantId;
  const boundary = boundaryOf(c.req.header("content-type"));
  if (!boundary || !c.req.raw.body) {
    throw new ApiError(415, "invalid_request_error", "Upload files as multipart/form-data with fields 'file' and 'purpose'.", "unsupported_media_type");
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > s.CIO_FILES_MAX_BYTES + ENVELOPE_BYTES) throw tooLarge(s.CIO_FILES_MAX_BYTES);
  const id = newFileId();
  const key = r2Keys.file(tenantId, id);
  let purpose: string | null = null;
  const expiresAfter: Record<string, string> = {};
  let expiresAt: number | null = null;
  let file: { filename: string; contentType: string | null; bytes: number } | null = null;
  try {
    for await (const part of readMultipart(bounded(c.req.raw.body, s.CIO_FILES_MAX_BYTES), boundary, { maxHeaderBytes: s.CIO_FILES_MAX_HEADER_BYTES })) {
      const nested = /^expires_after\[(anchor|seconds)\]$/.exec(part.name);
      if (part.name === "purpose") purpose = await fieldText(part.body);
      else if (nested) expiresAfter[nested[1]!] = await fieldText(part.body);
      else if (part.name === "file" && part.filename !== null && !file) {
        // Kept only when it is a media type: it is a response header on every download.
        const contentType = mediaType(part.contentType);
        const bytes = await streamToR2(c.env.FILES, key, part.body, { partBytes: s.CIO_FILES_PART_BYTES, maxBytes: s.CIO_FILES_MAX_BYTES, contentType: contentType ?? undefined });
        file = { filename: part.filename || "upload", contentType, bytes };
      }
    }
    if (!file) throw badRequest("Missing the 'file' field (a file part of the multipart body).", "file");
    if (!purpose || !(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
      throw badRequest(`'purpose' must be one of ${UPLOAD_PURPOSES.join(", ")}.`, "purpose");
    }
    if (Object.keys(expiresAfter).length) expiresAt = Date.now() + expirySeconds(expiresAfter) * 1000;
  } catch (err) {
    // Bad input changes nothing: whatever reached R2 goes again.
    if (file) await c.env.FILES.delete(key);
    if (err instanceof TooLarge) throw tooLarge(err.maxBytes);
    if (err instanceof MultipartError) throw badRequest(`Malformed multipart body: ${err.message}.`);
    throw err;
  }
  const [row] = await openDb(c.env.DB)
    .insert(schema.files)
    .values({ id, tenantId, filename: file.filename, purpose: purpose as "batch" | "analysis", bytes: file.bytes, contentType: file.contentType, r2Key: key, expiresAt })
    .returning();
  return c.json(toFileObject(row!), 200);
});

files.openapi(list, async (c) => {
  const { purpose, limit, after, order } = c.req.valid("query");
  const filter = and(unexpired(), purpose ? eq(schema.files.purpose, purpose) : undefined);
  const page = await pageOf(c.env.DB, schema.files, { tenantId: c.get("auth").tenantId, limit, after, filter, order, noun: "file" });
  return c.json(listOf(page.rows.map(toFileObject), page.hasMore), 200);
});

files.openapi(get, async (c) => c.json(toFileObject(await getFile(c.env.DB, c.get("auth").tenantId, c.req.valid("param").id)), 200));

files.openapi(content, async (c) => {
  const row = await getFile(c.env.DB, c.get("auth").tenantId, c.req.valid("param").id);
  const obj = await c.env.FILES.get(row.r2Key);
  if (!obj) throw new ApiError(500, "server_error", `The content of file ${row.id} is missing.`, "file_content_missing");
  return new Response(obj.body, {
    // Checked again: a row stored before uploads were checked may hold anything.
    headers: { "content-type": mediaType(row.contentType) ?? "application/octet-stream", "content-length": String(obj.size), "content-disposition": attachment(row.filename) },
  }) as never;
});

files.openapi(remove, async (c) => {
  const tenantId = c.get("auth").tenantId;
  const row = await getFile(c.env.DB, tenantId, c.req.valid("param").id);
  // A batch reading it failed part-way (its requests counted failed with no error lines), or never started.
  if (await fileInUse(c.env.DB, tenantId, row.id)) {
    throw new ApiError(409, "invalid_request_error", `File ${row.id} is still read by a batch or an analysis that has not ended; cancel it or wait for it to end.`, "file_in_use");
  }
  await c.env.FILES.delete(row.r2Key);
  const db = openDb(c.env.DB);
  await db.batch([
    ...deleteListed(db, schema.files, and(eq(schema.files.tenantId, tenantId), eq(schema.files.id, row.id))),
    auditInsert(db, byKey(c, "file.delete", row.id, { filename: row.filename, purpose: row.purpose, bytes: row.bytes })),
  ]);
  return c.json({ id: row.id, object: "file" as const, deleted: true as const }, 200);
});

/** `expires_after[anchor]` and `expires_after[seconds]`, as OpenAI's SDKs send the object in a form. */
function expirySeconds(fields: Record<string, string>): number {
  const r = ExpiresAfterSchema.safeParse(fields);
  if (!r.success) throw badRequest(`Invalid expires_after: ${r.error.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`).join("; ")}.`, "expires_after");
  return r.data.seconds;
}

/** Room beside the file for the other fields and the multipart framing. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * The body, failing with TooLarge past the file's limit and its envelope: Content-Length is checked first,
 * but a chunked body has none, and parts the upload skips (unknown fields, a second file) were read without
 * any bound, so one request could stream without end.
 */
function bounded(body: ReadableStream<Uint8Array>, maxFileBytes: number): ReadableStream<Uint8Array> {
  let read = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > maxFileBytes + ENVELOPE_BYTES) controller.error(new TooLarge(maxFileBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
}

async function fieldText(body: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > MAX_FIELD_BYTES) throw badRequest("A form field is too long.");
  }
  return (text + decoder.decode()).trim();
}

const tooLarge = (max: number) => new ApiError(413, "invalid_request_error", `The file exceeds the limit of ${max} bytes.`, "file_too_large", "file");
