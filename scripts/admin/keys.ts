import { defineCommand } from "citty";
import { adminCall, adminCommand, apiPath, connectionArgs, pageArgs, pageQuery, positiveInt, print, printPage, queryOf } from "./_client.ts";

const tenant = { type: "positional", required: true, description: "Tenant id" } as const;

const list = adminCommand({
  meta: { name: "list", description: "List a tenant's API keys, newest first, a page at a time" },
  args: { ...connectionArgs, tenant, ...pageArgs },
  run: async ({ args }) => printPage(await adminCall(args, "GET", `${apiPath("admin", "tenants", args.tenant, "keys")}${queryOf(pageQuery(args))}`)),
});

const create = adminCommand({
  meta: { name: "create", description: "Create an API key (printed once)" },
  args: {
    ...connectionArgs,
    tenant,
    name: { type: "string", default: "default", description: "Key name" },
    scopes: { type: "string", default: "*", description: "Comma-separated scopes" },
    rpm: { type: "string", description: "Requests per minute for this key" },
    concurrency: { type: "string", description: "Concurrent requests for this key" },
  },
  run: async ({ args }) =>
    print(
      await adminCall(args, "POST", apiPath("admin", "tenants", args.tenant, "keys"), {
        name: args.name,
        scopes: args.scopes.split(",").map((s) => s.trim()),
        rpm_limit: positiveInt("rpm", args.rpm),
        concurrency_limit: positiveInt("concurrency", args.concurrency),
      }),
    ),
});

const revoke = adminCommand({
  meta: { name: "revoke", description: "Revoke an API key" },
  args: { ...connectionArgs, tenant, key: { type: "positional", required: true, description: "Key id" } },
  run: async ({ args }) => print(await adminCall(args, "DELETE", apiPath("admin", "tenants", args.tenant, "keys", args.key))),
});

export default defineCommand({ meta: { name: "keys", description: "Manage API keys" }, subCommands: { list, create, revoke } });
