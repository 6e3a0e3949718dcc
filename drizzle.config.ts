import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./d1-migrations/schema/index.ts",
  out: "./d1-migrations",
});
