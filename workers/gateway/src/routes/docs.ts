/**
 * GET /docs: Swagger UI over /openapi.json, served whole by the gateway. Its script and stylesheet are the
 * pinned swagger-ui-dist package's, bundled into the Worker as text, so the page works offline (`npm start`)
 * and the gateway's origin runs no code it did not ship; its Content-Security-Policy lets it load nothing
 * from another origin.
 */
import { Hono } from "hono";
// Text, not code, in both bundlers: wrangler's esbuild reads the import attribute (and drops the query),
// vitest's Vite the `?raw` (text-modules.d.ts types them).
import script from "swagger-ui-dist/swagger-ui-bundle.js?raw" with { type: "text" };
import stylesheet from "swagger-ui-dist/swagger-ui.css?raw" with { type: "text" };
import type { GatewayApp } from "../env.js";

export const DOCS_PATH = "/docs";
const ASSETS = { script: `${DOCS_PATH}/swagger-ui-bundle.js`, stylesheet: `${DOCS_PATH}/swagger-ui.css`, init: `${DOCS_PATH}/init.js` };

// An external script rather than an inline one, so the policy needs no 'unsafe-inline' for scripts. No
// validator: Swagger UI would otherwise send the document's address to validator.swagger.io for a badge.
const INIT = `window.onload = () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });
};
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>CIO Edge API</title>
    <link rel="stylesheet" href="${ASSETS.stylesheet}" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS.script}"></script>
    <script src="${ASSETS.init}"></script>
  </body>
</html>
`;

// Swagger UI sets style attributes and draws icons as data: URIs; everything else is this origin's.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// An hour's cache spares a reader 2 MB on each visit; a new swagger-ui-dist reaches browsers within the hour.
const HEADERS = { "content-security-policy": CSP, "x-content-type-options": "nosniff", "cache-control": "public, max-age=3600" };
const serve = (body: string, type: string) => () => new Response(body, { headers: { ...HEADERS, "content-type": `${type}; charset=utf-8` } });

export const docs = new Hono<GatewayApp>()
  .get(DOCS_PATH, serve(PAGE, "text/html"))
  .get(ASSETS.script, serve(script, "text/javascript"))
  .get(ASSETS.stylesheet, serve(stylesheet, "text/css"))
  .get(ASSETS.init, serve(INIT, "text/javascript"));
