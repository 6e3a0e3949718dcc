/**
 * The file_analysis job: the uploaded file is streamed from R2 (never loaded whole) through the CSV or
 * XLSX reader into the Analyzer; the full result goes to R2 and a short summary onto the task.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { r2Keys } from "../../../../../lib/heavy/ids.js";
import { AnalysisParamsSchema } from "../../../../../lib/protocol/heavy.js";
import { JobFailure, type Job, type JobContext } from "../../job.js";
import { Analyzer, summarise, type AnalysisResult } from "./analyzer.js";
import { CsvError } from "./csv.js";
import { readCsvRanges } from "./csv-reader.js";
import type { RangeReadStats, RangeSource } from "./range-reader.js";
import { readXlsx } from "./xlsx.js";

export const analyzeFile: Job = async (ctx) => {
  const { env, task, settings: s } = ctx;
  const params = AnalysisParamsSchema.parse(task.params);
  const f = schema.files;
  const [file] = await openDb(env.DB).select().from(f).where(and(eq(f.tenantId, task.tenantId), eq(f.id, params.file_id))).limit(1);
  if (!file) throw new JobFailure("file_not_found", `No file with id '${params.file_id}'.`);
  const analyzer = new Analyzer(params, { topCapacity: s.CIO_ANALYSIS_TOP_CAPACITY, topN: s.CIO_ANALYSIS_TOP_N, maxGroups: s.CIO_ANALYSIS_MAX_GROUPS, maxColumns: s.CIO_ANALYSIS_MAX_COLUMNS });
  const open = async (range?: { offset: number }) => {
    const obj = await env.FILES.get(file.r2Key, range ? { range } : undefined);
    if (!obj) throw new JobFailure("file_not_found", `The content of file '${file.id}' is gone.`);
    return obj.body;
  };
  const format = formatOf(file.filename, file.contentType);
  const started = Date.now();
  let read: RangeReadStats | null = null;
  const xlsx = {
    onRow: (row: string[]) => analyzer.row(row),
    progress: (p: number) => ctx.progress(p),
    sheet: params.sheet,
    maxSharedStringChars: s.CIO_ANALYSIS_MAX_SHARED_STRING_CHARS,
    maxColumns: s.CIO_ANALYSIS_MAX_COLUMNS,
    maxRowChars: s.CIO_ANALYSIS_MAX_ROW_CHARS,
  };
  if (format === "xlsx") await readXlsx(open, file.bytes, xlsx);
  else read = await readCsv(file, analyzer, ctx, params.delimiter ?? (/\.tsv$/i.test(file.filename) ? "\t" : undefined));
  const result: AnalysisResult = analyzer.result(format);
  const key = r2Keys.taskResult(task.tenantId, task.id);
  // Time and size of the read, so users (and the benchmark) see the throughput of an analysis, and how much
  // of that time went to waiting for R2 rather than to the analysis itself.
  const stats = { bytes: file.bytes, elapsed_ms: Date.now() - started, read_wait_ms: read?.waitMs ?? null };
  // Progress is throttled, so a cancel made during the last stretch of the read is caught here.
  await ctx.stillRunning();
  await env.FILES.put(key, JSON.stringify({ file_id: file.id, filename: file.filename, ...stats, ...result }), { httpMetadata: { contentType: "application/json" } });
  return { summary: summarise(result, file.filename), resultRef: key };
};

export function formatOf(filename: string, contentType: string | null): "csv" | "xlsx" {
  if (/\.xlsx$/i.test(filename) || contentType === "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") return "xlsx";
  if (/\.(csv|tsv|txt)$/i.test(filename) || /^text\//.test(contentType ?? "")) return "csv";
  throw new JobFailure("unsupported_file", `Cannot analyse '${filename}': CSV (.csv, .tsv) and Excel (.xlsx) files are supported.`);
}

/** Reads the file from R2 range by range (see csv-reader.ts and range-reader.ts). */
async function readCsv(file: { id: string; r2Key: string; bytes: number }, analyzer: Analyzer, ctx: JobContext, delimiter: string | undefined): Promise<RangeReadStats> {
  const source: RangeSource = {
    size: file.bytes,
    read: async (offset, length) => {
      const obj = await ctx.env.FILES.get(file.r2Key, length === undefined ? undefined : { range: { offset, length } });
      if (!obj) throw new JobFailure("file_not_found", `The content of file '${file.id}' is gone.`);
      return new Uint8Array(await obj.arrayBuffer());
    },
  };
  try {
    return await readCsvRanges(source, { step: ctx.settings.CIO_ANALYSIS_READ_BYTES, delimiter, maxRowChars: ctx.settings.CIO_ANALYSIS_MAX_ROW_CHARS, onRow: (row) => analyzer.row(row), onProgress: (p) => ctx.progress(p) });
  } catch (err) {
    if (err instanceof CsvError) throw new JobFailure("invalid_csv", `The CSV file is malformed: ${err.message}.`);
    throw err;
  }
}
