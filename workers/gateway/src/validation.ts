import { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import { badRequest } from "../../../lib/errors.js";
import type { GatewayApp } from "./env.js";

/** `messages.0.role` → `messages[0].role`, the way OpenAI names a bad parameter. */
export function paramPath(path: readonly PropertyKey[]): string | null {
  if (!path.length) return null;
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${String(p)}` : String(p))).join("");
}

export function validationError(error: z.ZodError) {
  const issue = error.issues[0]!;
  const param = paramPath(issue.path);
  const where = param ? `'${param}': ` : "";
  return badRequest(`Invalid request: ${where}${issue.message}`, param);
}

/** Every router is made here so validation failures always become OpenAI-shaped 400s. */
export const router = () =>
  new OpenAPIHono<GatewayApp>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error as z.ZodError);
    },
  });
