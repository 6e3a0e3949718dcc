/**
 * Signing of HTTPS tool calls: `POST <url>/execute` carries `x-cio-timestamp` (epoch seconds) and
 * `x-cio-signature` = hex HMAC-SHA256(secret, `${timestamp}.${body}`). Any language can verify it with its
 * standard library; the timestamp bounds replays. Verification is here too, for tool services in TypeScript.
 *
 * `secret` is the tool's own (toolSigningSecret), not CIO_TOOL_HMAC_SECRET: with one secret for all, whoever
 * runs one tool could sign calls to every other, naming any tenant, or replay one tool's calls to another.
 */
import { hmacSha256Hex, timingSafeEqual } from "../crypto.js";
import { TOOL_SIGNATURE_HEADER, TOOL_TIMESTAMP_HEADER } from "../protocol/tool.js";

export async function signToolRequest(secret: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const ts = String(Math.floor(now / 1000));
  return { [TOOL_TIMESTAMP_HEADER]: ts, [TOOL_SIGNATURE_HEADER]: await hmacSha256Hex(secret, `${ts}.${body}`) };
}

export async function verifyToolRequest(secret: string, headers: Headers, body: string, maxSkewS = 300, now = Date.now()): Promise<boolean> {
  const ts = headers.get(TOOL_TIMESTAMP_HEADER);
  const sig = headers.get(TOOL_SIGNATURE_HEADER);
  if (!ts || !sig || !/^\d+$/.test(ts) || Math.abs(now / 1000 - Number(ts)) > maxSkewS) return false;
  return timingSafeEqual(sig, await hmacSha256Hex(secret, `${ts}.${body}`));
}

/**
 * A tool's signing secret: hex HMAC-SHA256(CIO_TOOL_HMAC_SECRET, `cio-tool:${name}`). Derived, so the
 * orchestrator keeps one secret while each tool's operator holds only its own (the admin API shows it when
 * the tool is registered); changing CIO_TOOL_HMAC_SECRET changes every tool's.
 */
export const toolSigningSecret = (master: string, toolName: string): Promise<string> => hmacSha256Hex(master, `cio-tool:${toolName}`);
