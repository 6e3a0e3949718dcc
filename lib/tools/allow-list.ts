/**
 * URL allow-lists of the tools that fetch what a caller names (http-json, media's audioUrl). A URL is
 * allowed when its origin equals a prefix's origin and its path starts with the prefix's path. Comparing
 * parsed origins (not raw strings) keeps "https://api.example.com" from also allowing
 * "https://api.example.com.evil.test" or "https://api.example.com@evil.test".
 */
import { z } from "zod";
import { envList } from "../config.js";
import { ToolFailure } from "./tool-entrypoint.js";

/** The setting's format: comma-separated http(s) URL prefixes; empty allows nothing. */
export const AllowListSchema = envList().pipe(z.array(z.url({ protocol: /^https?$/ })));

/** `setting` names the env variable, so a refusal says what the operator would have to change. */
export function assertAllowed(target: URL, allow: string[], setting: string): void {
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new ToolFailure("not_allowed", `only http and https URLs can be fetched, not ${target.protocol}`);
  }
  if (target.username || target.password) {
    throw new ToolFailure("not_allowed", "URLs with credentials are not fetched");
  }
  if (allow.length === 0) {
    throw new ToolFailure("not_allowed", `no URL is allowed: the operator has not set ${setting}`);
  }
  if (!allow.some((prefix) => matches(target, new URL(prefix)))) {
    throw new ToolFailure("not_allowed", `${target.origin}${target.pathname} is not in the allow-list`);
  }
}

function matches(target: URL, prefix: URL): boolean {
  return target.origin === prefix.origin && target.pathname.startsWith(prefix.pathname);
}
