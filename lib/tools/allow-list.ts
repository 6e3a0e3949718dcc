/**
 * URL allow-lists of the tools that fetch what a caller names (http-json, media's audioUrl). A URL is
 * allowed when its origin equals a prefix's origin and its path lies under the prefix's path, segment by
 * segment: "https://api.example.com/public" allows /public and /public/…, not /public-admin/keys. Comparing
 * parsed origins (not raw strings) keeps "https://api.example.com" from also allowing
 * "https://api.example.com.evil.test" or "https://api.example.com@evil.test".
 */
import { z } from "zod";
import { envList } from "../config.js";
import { ToolFailure } from "./tool-entrypoint.js";

/** The setting's format: comma-separated http(s) URL prefixes; empty allows nothing. */
export const AllowListSchema = envList().pipe(z.array(z.url({ protocol: /^https?$/ })));

/** A dot segment, alone or with a matrix parameter (`..;`, `..;jsessionid=x`), once its escapes are decoded. */
const DOT_SEGMENT = /^\.{1,2}(;|$)/;

/** `setting` names the env variable, so a refusal says what the operator would have to change. */
export function assertAllowed(target: URL, allow: string[], setting: string): void {
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new ToolFailure("not_allowed", `only http and https URLs can be fetched, not ${target.protocol}`);
  }
  if (target.username || target.password) {
    throw new ToolFailure("not_allowed", "URLs with credentials are not fetched");
  }
  assertPlainPath(target.pathname);
  if (allow.length === 0) {
    throw new ToolFailure("not_allowed", `no URL is allowed: the operator has not set ${setting}`);
  }
  if (!allow.some((prefix) => matches(target, new URL(prefix)))) {
    throw new ToolFailure("not_allowed", `${target.origin}${target.pathname} is not in the allow-list`);
  }
}

/** A prefix ending in "/" covers everything under it; one that does not, that exact path and what is under it. */
function matches(target: URL, prefix: URL): boolean {
  if (target.origin !== prefix.origin) return false;
  const path = prefix.pathname;
  if (path.endsWith("/")) return target.pathname.startsWith(path);
  return target.pathname === path || target.pathname.startsWith(`${path}/`);
}

/**
 * The path must mean to the server what it means to us. The URL parser has resolved its `.` and `..`
 * segments, but a server may decode escapes before routing, once or twice (%252F is %2F decoded once), and
 * many (Tomcat, Jetty, Spring) strip `;parameters` from a segment before resolving dot segments: an encoded
 * slash or backslash would let /public%2F..%2Fadmin out from under /public, and /public/..;/admin is
 * /admin to them. Each segment is checked as it reads once every escape is decoded.
 */
function assertPlainPath(pathname: string): void {
  for (const segment of pathname.split("/").map(decodedFully)) {
    if (segment === null) {
      throw new ToolFailure("not_allowed", `URLs whose path has escapes encoded more than ${MAX_DECODES} times are not fetched`);
    }
    if (segment.includes("/") || segment.includes("\\")) {
      throw new ToolFailure("not_allowed", "URLs whose path has an encoded slash or backslash (%2F, %5C, or encoded again as %252F) are not fetched");
    }
    if (DOT_SEGMENT.test(segment)) {
      throw new ToolFailure("not_allowed", "URLs whose path has a dot segment that the URL parser leaves (..;, or encoded as %2e%2e%3b or %252e%252e) are not fetched");
    }
  }
}

/**
 * Decodes of one segment: no server decodes this often, and each pass costs the whole segment, so a long
 * %252525… path would otherwise take a pass per nesting level.
 */
const MAX_DECODES = 4;

/** The segment with its %XX escapes decoded until none is left, byte by byte (enough to see the ASCII that routes); null past MAX_DECODES. */
function decodedFully(segment: string): string | null {
  let s = segment;
  for (let i = 0; i <= MAX_DECODES; i++) {
    const decoded = s.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === s) return s;
    s = decoded;
  }
  return null;
}
