import { splitRoutingPath } from "hono/utils/url";

/** For a path that exists under other methods, the methods it allows (for a 405 with `Allow`). */
export function methodNotAllowed(routes: { method: string; path: string }[], method: string, path: string): string[] | undefined {
  const allowed = new Set<string>();
  for (const r of routes) {
    if (r.method === "ALL" || r.method === method) continue;
    if (patternOf(r.path).test(path)) allowed.add(r.method);
  }
  if (!allowed.size) return undefined;
  if (allowed.has("GET")) allowed.add("HEAD");
  return [...allowed].sort();
}

const patterns = new Map<string, RegExp>();
function patternOf(route: string): RegExp {
  let re = patterns.get(route);
  if (!re) {
    // Split as the router splits, so a `{regex}` holding a slash stays one segment.
    const body = splitRoutingPath(route).map(segmentPattern).join("/");
    // Exact, as the router is (strict about a trailing slash): `/v1/sessions/` is no route, so a 404.
    patterns.set(route, (re = new RegExp(`^/${body}$`)));
  }
  return re;
}

/**
 * `:name{regex}` matches what its regex matches, as in the router (`/v1/models/:model{.+}` takes
 * `cio/auto`, slash and all); a plain `:name` one segment; `*` anything; other text itself.
 */
function segmentPattern(seg: string): string {
  const param = /^:[^{}]+(?:\{(.+)\})?$/.exec(seg);
  if (param) return param[1] === undefined ? "[^/]+" : `(?:${param[1]})`;
  return seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
