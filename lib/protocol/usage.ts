/**
 * The usage report (GET /v1/usage for a key's own tenant, GET /admin/tenants/{id}/usage for an admin): token
 * counts per UTC day and model, as the tenant's limiter writes them to D1.
 */
import { z } from "zod";
import { utcDay } from "../time.js";

type DayRange = { start_date?: string | undefined; end_date?: string | undefined };

const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

/** 2026-02-30 parses (as March 2nd), 2026-13-01 does not: a date is one that comes back as written. */
function isDay(d: string): boolean {
  const t = Date.parse(`${d}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(t) && utcDay(t) === d;
}
const Day = z.string().refine(isDay, "a UTC calendar date as YYYY-MM-DD");

export const UsageQuerySchema = z
  .object({
    /** First day, inclusive; defaults to six days before end_date (a week in all). */
    start_date: Day.optional(),
    /** Last day, inclusive; defaults to today (UTC). */
    end_date: Day.optional(),
    /** Only this model's rows. */
    model: z.string().min(1).max(256).optional(),
  })
  .superRefine((q, ctx) => {
    // The object's checks run even when a field's failed: the range is checked once both dates are valid.
    if (![q.start_date, q.end_date].every((d) => d === undefined || isDay(d))) return;
    const { start, end } = reportDays(q, Date.now());
    if (start > end) ctx.addIssue({ code: "custom", message: "start_date is after end_date", path: ["start_date"] });
    else if (daysBetween(start, end) >= MAX_DAYS) ctx.addIssue({ code: "custom", message: `at most ${MAX_DAYS} days per report`, path: ["start_date"] });
  });
export type UsageQuery = z.infer<typeof UsageQuerySchema>;

const daysBetween = (a: string, b: string) => (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS;

/** The report's days: today (UTC, at `now`) is the default end, a week the default span. */
export function reportDays(q: DayRange, now: number): { start: string; end: string } {
  const end = q.end_date ?? utcDay(now);
  return { start: q.start_date ?? utcDay(Date.parse(`${end}T00:00:00Z`) - 6 * DAY_MS), end };
}

const Counts = z.object({
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const UsageReportSchema = z
  .object({
    object: z.literal("usage"),
    tenant_id: z.string(),
    start_date: z.string(),
    end_date: z.string(),
    /** One row per day and model with any usage, by day then model. */
    data: z.array(Counts.extend({ day: z.string(), model: z.string() })),
    total: Counts,
    daily_token_budget: z.number().int().nullable(),
    /** Tokens counted today (UTC), whatever the report's days; the budget's measure. */
    tokens_today: z.number().int(),
  })
  .meta({ id: "UsageReport" });
export type UsageReport = z.infer<typeof UsageReportSchema>;
