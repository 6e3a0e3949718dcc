import { adminCall, adminCommand, apiPath, connectionArgs, pageArgs, pageQuery, printPage, queryOf } from "./_client.ts";

export default adminCommand({
  meta: { name: "audit", description: "The audit log of admin changes, newest first" },
  args: {
    ...connectionArgs,
    tenant: { type: "string", description: "Only this tenant's entries" },
    action: { type: "string", description: "Only this action (api_key.revoke), or a kind ending in '.' (api_key.)" },
    ...pageArgs,
  },
  run: async ({ args }) => printPage(await adminCall(args, "GET", `${apiPath("admin", "audit")}${queryOf({ tenant_id: args.tenant, action: args.action, ...pageQuery(args) })}`)),
});
