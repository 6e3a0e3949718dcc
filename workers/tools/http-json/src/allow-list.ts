/**
 * The allow-list: a URL is allowed when its origin equals a prefix's origin and its path starts with the
 * prefix's path. Comparing parsed origins (not raw strings) keeps "https://api.example.com" from also
 * allowing "https://api.example.com.evil.test" or "https://api.example.com@evil.test".
 */
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

export function assertAllowed(target: URL, allow: string[]): void {
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new ToolFailure("not_allowed", `only http and https URLs can be fetched, not ${target.protocol}`);
  }
  if (target.username || target.password) {
    throw new ToolFailure("not_allowed", "URLs with credentials are not fetched");
  }
  if (allow.length === 0) {
    throw new ToolFailure("not_allowed", "no URL is allowed: the operator has not set HTTP_JSON_ALLOW");
  }
  if (!allow.some((prefix) => matches(target, new URL(prefix)))) {
    throw new ToolFailure("not_allowed", `${target.origin}${target.pathname} is not in the allow-list`);
  }
}

function matches(target: URL, prefix: URL): boolean {
  return target.origin === prefix.origin && target.pathname.startsWith(prefix.pathname);
}
