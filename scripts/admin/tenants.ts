import { defineCommand } from "citty";
import { adminCall, adminCommand, apiPath, connectionArgs, pageArgs, pageQuery, positiveInt, print, printPage, queryOf } from "./_client.ts";

const list = adminCommand({
  meta: { name: "list", description: "List tenants, newest first, a page at a time" },
  args: { ...connectionArgs, ...pageArgs },
  run: async ({ args }) => printPage(await adminCall(args, "GET", `${apiPath("admin", "tenants")}${queryOf(pageQuery(args))}`)),
});

const create = adminCommand({
  meta: { name: "create", description: "Create a tenant" },
  args: {
    ...connectionArgs,
    name: { type: "positional", description: "Tenant name", required: true },
    rpm: { type: "string", description: "Requests per minute for the whole tenant" },
    concurrency: { type: "string", description: "Concurrent requests for the whole tenant" },
    budget: { type: "string", description: "Daily token budget" },
  },
  run: async ({ args }) =>
    print(
      await adminCall(args, "POST", apiPath("admin", "tenants"), {
        name: args.name,
        rpm_limit: positiveInt("rpm", args.rpm),
        concurrency_limit: positiveInt("concurrency", args.concurrency),
        daily_token_budget: positiveInt("budget", args.budget),
      }),
    ),
});

const suspend = adminCommand({
  meta: { name: "suspend", description: "Suspend a tenant (its keys stop working)" },
  args: { ...connectionArgs, id: { type: "positional", required: true, description: "Tenant id" } },
  run: async ({ args }) => print(await adminCall(args, "PATCH", apiPath("admin", "tenants", args.id), { status: "suspended" })),
});

const usage = adminCommand({
  meta: { name: "usage", description: "A tenant's token usage per day and model (a week to today by default)" },
  args: {
    ...connectionArgs,
    id: { type: "positional", required: true, description: "Tenant id" },
    start: { type: "string", description: "First day, YYYY-MM-DD" },
    end: { type: "string", description: "Last day, YYYY-MM-DD" },
    model: { type: "string", description: "Only this model" },
  },
  run: async ({ args }) => {
    print(await adminCall(args, "GET", `${apiPath("admin", "tenants", args.id, "usage")}${queryOf({ start_date: args.start, end_date: args.end, model: args.model })}`));
  },
});

export default defineCommand({ meta: { name: "tenants", description: "Manage tenants" }, subCommands: { list, create, suspend, usage } });
