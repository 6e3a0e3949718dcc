import { defineCommand } from "citty";
import { adminCall, adminCommand, apiPath, connectionArgs, pageArgs, pageQuery, print, printPage, queryOf } from "./_client.ts";

const tenant = { type: "positional", required: true, description: "Tenant id" } as const;

const list = adminCommand({
  meta: { name: "list", description: "List a tenant's runner tokens, newest first, a page at a time" },
  args: { ...connectionArgs, tenant, ...pageArgs },
  run: async ({ args }) => printPage(await adminCall(args, "GET", `${apiPath("admin", "tenants", args.tenant, "runner-tokens")}${queryOf(pageQuery(args))}`)),
});

const create = adminCommand({
  meta: { name: "create", description: "Create a runner token bound to one runner name (printed once)" },
  args: { ...connectionArgs, tenant, runner: { type: "positional", required: true, description: "Runner name" } },
  run: async ({ args }) => print(await adminCall(args, "POST", apiPath("admin", "tenants", args.tenant, "runner-tokens"), { runner_name: args.runner })),
});

const revoke = adminCommand({
  meta: { name: "revoke", description: "Revoke a runner token" },
  // Not `token`: that is --token, the admin token, which a positional of the same name replaced.
  args: { ...connectionArgs, tenant, id: { type: "positional", required: true, description: "Runner token id (rtk_…)" } },
  run: async ({ args }) => print(await adminCall(args, "DELETE", apiPath("admin", "tenants", args.tenant, "runner-tokens", args.id))),
});

export default defineCommand({ meta: { name: "runner-tokens", description: "Manage runner tokens" }, subCommands: { list, create, revoke } });
