/** What the routes' OpenAPI declarations share: JSON bodies, OpenAI's error body, the page envelope. */
import { z } from "@hono/zod-openapi";
import { ErrorBodySchema } from "../../../../lib/protocol/index.js";

export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
export const errorBody = (description: string) => ({ description, ...json(ErrorBodySchema) });
export const bearer = [{ bearer: [] }];

type Method = "get" | "post" | "put" | "patch" | "delete";
/** The head of a route declaration: spread into createRoute with its request and responses. */
const routeHead =
  (security: { [scheme: string]: string[] }[]) =>
  <M extends Method>(method: M, path: string, summary: string) => ({ method, path, summary, security });
/** Behind an API key. */
export const keyRoute = routeHead(bearer);
/** Behind CIO_ADMIN_TOKEN. */
export const adminRoute = routeHead([{ admin: [] }]);

/** OpenAI's list envelope (lib/db/pages.ts listOf) around a page of items. */
export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), first_id: z.string().nullable(), last_id: z.string().nullable() });

/** An object's id in the path. Unknown ids are the handler's 404, so any non-empty string passes here. */
export const IdParam = z.object({ id: z.string().min(1) });
