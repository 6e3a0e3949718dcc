/** `npm run admin -- <command>`: the admin API from the command line, against the local stack by default. */
import { defineCommand, runMain } from "citty";
import { loadDotEnv } from "./lib/local-stack.ts";

// PORT, CIO_STATE_DIR, CIO_URL and CIO_ADMIN_TOKEN from `.env`, as `npm start` reads them: the stack it
// started is the one to talk to.
loadDotEnv();

const main = defineCommand({
  meta: { name: "cio-admin", description: "Manage CIO Edge tenants, API keys and runner tokens" },
  subCommands: {
    tenants: () => import("./admin/tenants.ts").then((m) => m.default),
    keys: () => import("./admin/keys.ts").then((m) => m.default),
    "runner-tokens": () => import("./admin/runner-tokens.ts").then((m) => m.default),
    audit: () => import("./admin/audit.ts").then((m) => m.default),
  },
});

await runMain(main);
