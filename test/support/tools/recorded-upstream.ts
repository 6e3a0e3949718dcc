/**
 * A tiny HTTP server on 127.0.0.1 that replays recorded upstream responses, so tool Workers are tested
 * against the exact payloads their real APIs return without any test reaching the internet.
 *
 * Routes live beside each tool's tests in `test/fixtures/routes.json`; the first route whose method,
 * path, query subset and header subset match the request answers it. A route can delay its answer (to
 * exercise deadlines) or generate a large body (to exercise size limits).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { z } from "zod";

const RouteSchema = z.object({
  method: z.string().default("GET"),
  path: z.string(),
  query: z.record(z.string(), z.string()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  status: z.number().int().default(200),
  responseHeaders: z.record(z.string(), z.string()).optional(),
  /** A file in the fixtures folder whose bytes are the response body. */
  file: z.string().optional(),
  /** An inline body; objects and arrays are sent as JSON. */
  body: z.unknown().optional(),
  /** Answer with a JSON document of about this many bytes. */
  generateBytes: z.number().int().optional(),
  delayMs: z.number().int().optional(),
});
export type Route = z.infer<typeof RouteSchema>;

export function loadRoutes(fixturesDir: string): Route[] {
  const raw: unknown = JSON.parse(readFileSync(join(fixturesDir, "routes.json"), "utf8"));
  return z.array(RouteSchema).parse(raw);
}

function matches(route: Route, req: IncomingMessage, url: URL): boolean {
  if (route.method !== req.method || route.path !== url.pathname) return false;
  const queryOk = Object.entries(route.query ?? {}).every(([k, v]) => url.searchParams.get(k) === v);
  const headersOk = Object.entries(route.headers ?? {}).every(([k, v]) => req.headers[k.toLowerCase()] === v);
  return queryOk && headersOk;
}

function bodyOf(route: Route, fixturesDir: string): Buffer {
  if (route.file) return readFileSync(join(fixturesDir, route.file));
  if (route.generateBytes) return Buffer.from(JSON.stringify({ pad: "x".repeat(route.generateBytes) }));
  if (route.body === undefined) return Buffer.alloc(0);
  return Buffer.from(typeof route.body === "string" ? route.body : JSON.stringify(route.body));
}

function answer(route: Route | undefined, fixturesDir: string, res: ServerResponse): void {
  if (!route) {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no recorded route"}');
    return;
  }
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(route.status, { "content-type": "application/json", ...route.responseHeaders });
    res.end(bodyOf(route, fixturesDir));
  };
  if (route.delayMs) setTimeout(send, route.delayMs).unref();
  else send();
}

/** Start the server; resolves with its base URL (no trailing slash) and a close function. */
export async function startRecordedUpstream(fixturesDir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const routes = loadRoutes(fixturesDir);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    answer(
      routes.find((r) => matches(r, req, url)),
      fixturesDir,
      res,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}`, close };
}
