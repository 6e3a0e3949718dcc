/** What the routes' OpenAPI declarations share: JSON bodies, OpenAI's error body, the page envelope. */
import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import { ErrorBodySchema } from "../../../../lib/protocol/index.js";

export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
export const errorBody = (description: string) => ({ description, ...json(ErrorBodySchema) });
export const bearer = [{ bearer: [] }];

type Method = "get" | "post" | "put" | "patch" | "delete";
/** A route's declaration less its head: request, middleware and the responses of its own work. */
type RouteBody = Omit<RouteConfig, "method" | "path" | "summary" | "security">;
type Credential = { security: { [scheme: string]: string[] }[]; missing: string; refused: string };

/**
 * The errors the gateway's own layers answer, whichever route is asked: app.ts's authentication (401, and 403
 * for a refused credential), its body limit and JSON check on any body (413, 415), the validator on what the
 * route declares (400), and a path id that names nothing (404). Client generators type errors from the
 * document, so each route lists these beside its own; a route's own entry for a status replaces the one here.
 */
function layerErrors(credential: Credential, method: Method, path: string, request: RouteBody["request"]) {
  const sendsBody = method === "post" || method === "put" || method === "patch";
  return {
    ...(request && { 400: errorBody("Invalid request") }),
    401: errorBody(credential.missing),
    403: errorBody(credential.refused),
    ...(path.includes("{") && { 404: errorBody("Nothing of that id (for this tenant)") }),
    ...(sendsBody && { 413: errorBody("The body exceeds CIO_MAX_BODY_BYTES"), 415: errorBody("The body is not JSON") }),
  };
}

/** A route behind `credential`: its head, its declaration, and the errors of the layers before it. */
const routeOf =
  (credential: Credential) =>
  <M extends Method, P extends string, R extends RouteBody>(method: M, path: P, summary: string, route: R) =>
    createRoute({
      ...route,
      method,
      path,
      summary,
      security: credential.security,
      // Typed as the route's own: handlers answer those, and the layers' errors are thrown, never returned.
      responses: { ...layerErrors(credential, method, path, route.request), ...route.responses } as R["responses"],
    });

/** Behind an API key. */
export const keyRoute = routeOf({
  security: bearer,
  missing: "Missing, incorrect or revoked API key",
  refused: "The tenant is suspended, or the key lacks a scope the route needs",
});
/** Behind CIO_ADMIN_TOKEN. */
export const adminRoute = routeOf({
  security: [{ admin: [] }],
  missing: "Missing or incorrect admin token",
  refused: "The admin API is disabled: CIO_ADMIN_TOKEN is unset",
});

/** A route behind middleware/rate-limit.ts. */
export const rateLimited = { 429: errorBody("A rate or concurrency limit, or the daily token budget, is reached: see Retry-After and x-should-retry") };

/** OpenAI's list envelope (lib/db/pages.ts listOf) around a page of items. */
export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), first_id: z.string().nullable(), last_id: z.string().nullable() });

/** An object's id in the path. Unknown ids are the handler's 404, so any non-empty string passes here. */
export const IdParam = z.object({ id: z.string().min(1) });
