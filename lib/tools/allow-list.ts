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

const ENCODED_SEPARATOR = /%2f|%5c/i;

/** `setting` names the env variable, so a refusal says what the operator would have to change. */
export function assertAllowed(target: URL, allow: string[], setting: string): void {
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new ToolFailure("not_allowed", `only http and https URLs can be fetched, not ${target.protocol}`);
  }
  if (target.username || target.password) {
    throw new ToolFailure("not_allowed", "URLs with credentials are not fetched");
  }
  // An encoded slash or backslash is one path segment to us and may be a separator to the server (many
  // decode before routing), which would let /public%2F..%2Fadmin out from under /public.
  if (ENCODED_SEPARATOR.test(target.pathname)) {
    throw new ToolFailure("not_allowed", "URLs whose path has an encoded slash or backslash (%2F, %5C) are not fetched");
  }
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
