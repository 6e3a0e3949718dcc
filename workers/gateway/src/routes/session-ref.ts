/**
 * A `session_id` named by a request that is not the sessions API's own (a chat, a task, a council): the work
 * then reads the session or writes its events there, which is what the `sessions` scope grants. The scope is
 * checked before the session is looked up, so a key without it cannot tell which ids exist.
 */
import { sessionExists } from "../../../../lib/db/sessions.js";
import { badRequest, forbidden } from "../../../../lib/errors.js";
import type { AuthContext } from "../env.js";
import { hasScope } from "../middleware/auth.js";

export function requireSessionScope(auth: Pick<AuthContext, "scopes">, sessionId: string | null | undefined): void {
  if (sessionId != null && !hasScope(auth.scopes, "sessions")) throw forbidden("This API key lacks the 'sessions' scope, which session_id needs.");
}

/** The scope, then the session itself: an unknown id would get the work's events in a new, empty object. */
export async function requireSession(d1: D1Database, auth: Pick<AuthContext, "scopes" | "tenantId">, sessionId: string | null | undefined): Promise<void> {
  requireSessionScope(auth, sessionId);
  if (sessionId != null && !(await sessionExists(d1, auth.tenantId, sessionId))) throw badRequest(`No session with id '${sessionId}'.`, "session_id", "session_not_found");
}
