/**
 * API key scopes. The gateway guards each route with one; the orchestrator offers a chat only the tools
 * and council presets whose data the key's scopes reach (a chat-only key must not read the on-prem
 * database through the sql tool when it may not through /v1/runners).
 */

/** Every scope a key can hold; "*" grants all of them. */
export const SCOPES = ["chat", "sessions", "councils", "tasks", "files", "runners", "feedback", "usage"] as const;
export type Scope = (typeof SCOPES)[number];

/** Whether a key's scopes grant `scope` ("*" grants every one). */
export const hasScope = (scopes: readonly string[], scope: Scope) => scopes.includes("*") || scopes.includes(scope);
