import { defineCommand } from "citty";
import { adminCall, connectionArgs, optionalInt, print, queryOf } from "./_client.ts";

const list = defineCommand({
  meta: { name: "list", description: "List tenants" },
  args: connectionArgs,
  run: async ({ args }) => print(await adminCall(args, "GET", "/admin/tenants")),
});

const create = defineCommand({
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
      await adminCall(args, "POST", "/admin/tenants", {
        name: args.name,
        rpm_limit: optionalInt(args.rpm),
        concurrency_limit: optionalInt(args.concurrency),
        daily_token_budget: optionalInt(args.budget),
      }),
    ),
});

const suspend = defineCommand({
  meta: { name: "suspend", description: "Suspend a tenant (its keys stop working)" },
  args: { ...connectionArgs, id: { type: "positional", required: true, description: "Tenant id" } },
  run: async ({ args }) => print(await adminCall(args, "PATCH", `/admin/tenants/${args.id}`, { status: "suspended" })),
});

const usage = defineCommand({
  meta: { name: "usage", description: "A tenant's token usage per day and model (a week to today by default)" },
  args: {
    ...connectionArgs,
    id: { type: "positional", required: true, description: "Tenant id" },
    start: { type: "string", description: "First day, YYYY-MM-DD" },
    end: { type: "string", description: "Last day, YYYY-MM-DD" },
    model: { type: "string", description: "Only this model" },
  },
  run: async ({ args }) => {
    print(await adminCall(args, "GET", `/admin/tenants/${args.id}/usage${queryOf({ start_date: args.start, end_date: args.end, model: args.model })}`));
  },
});

export default defineCommand({ meta: { name: "tenants", description: "Manage tenants" }, subCommands: { list, create, suspend, usage } });
