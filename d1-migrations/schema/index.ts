// The drizzle schema of the D1 database. drizzle-kit generates the SQL migrations beside this folder
// (`npm run db:generate`); wrangler and the tests apply them. Never write DDL by hand.
export * from "./tenants.js";
export * from "./usage.js";
export * from "./councils.js";
export * from "./tasks.js";
export * from "./tools.js";
export * from "./sessions.js";
export * from "./deleted-rows.js";
