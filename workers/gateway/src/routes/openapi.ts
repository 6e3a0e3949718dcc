/** What the routes' OpenAPI declarations share: JSON bodies, OpenAI's error body, the page envelope. */
import { z } from "@hono/zod-openapi";
import { ErrorBodySchema } from "../../../../lib/protocol/index.js";

export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
export const errorBody = (description: string) => ({ description, ...json(ErrorBodySchema) });
export const bearer = [{ bearer: [] }];

/** The head of a route declaration behind an API key: spread into createRoute with its request and responses. */
export const keyRoute = <M extends "get" | "post" | "delete">(method: M, path: string, summary: string) => ({ method, path, summary, security: bearer });

/** OpenAI's list envelope (lib/db/pages.ts listOf) around a page of items. */
export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), first_id: z.string().nullable(), last_id: z.string().nullable() });

/** An object's id in the path. Unknown ids are the handler's 404, so any non-empty string passes here. */
export const IdParam = z.object({ id: z.string().min(1) });
