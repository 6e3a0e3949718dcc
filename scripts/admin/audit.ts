import { adminCall, adminCommand, connectionArgs, positiveInt, print, queryOf } from "./_client.ts";

export default adminCommand({
  meta: { name: "audit", description: "The audit log of admin changes, newest first" },
  args: {
    ...connectionArgs,
    tenant: { type: "string", description: "Only this tenant's entries" },
    action: { type: "string", description: "Only this action (api_key.revoke), or a kind ending in '.' (api_key.)" },
    limit: { type: "string", description: "Entries per page (default 100)" },
    after: { type: "string", description: "The last id of the previous page" },
  },
  run: async ({ args }) => {
    const limit = positiveInt("limit", args.limit)?.toString();
    print(await adminCall(args, "GET", `/admin/audit${queryOf({ tenant_id: args.tenant, action: args.action, limit, after: args.after })}`));
  },
});
