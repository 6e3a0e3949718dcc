import { z } from "zod";
import { envInt, envLogLevel, loadSettings } from "../../lib/config.js";

/** Every limit of a session, from the orchestrator's env (the Worker that runs SessionDO). */
export const SessionSettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  /** A session with no open socket and no activity for this long is deleted by its alarm. */
  CIO_SESSION_TTL_S: envInt(30 * 86_400, 1),
  /** A socket that sent nothing (not even a ping) for this long is closed. */
  CIO_SESSION_IDLE_S: envInt(300, 1),
  /** Largest frame a client may send; a bigger one gets an `error` frame and close code 1009. */
  CIO_SESSION_MAX_FRAME_BYTES: envInt(1024 * 1024, 64),
  CIO_SESSION_MAX_SOCKETS: envInt(32, 1),
  CIO_TENANT_MAX_SOCKETS: envInt(2000, 1),
  /** A turn still running after this long is aborted and marked failed by the watchdog alarm. */
  CIO_SESSION_TURN_TIMEOUT_S: envInt(600, 1),
  /**
   * While a turn runs, the alarm fires at least this often. A socket's turn runs after the frame that started
   * it was handled, and pings the runtime answers do not wake the object: with no event for 70-140 s an
   * object that cannot hibernate may be evicted, cutting the turn off (a long council or reasoning answer).
   */
  CIO_SESSION_TURN_HEARTBEAT_S: envInt(30, 1, 60),
  /**
   * How often an open socket's API key is re-read from D1 (revoked? tenant suspended?). At most 30 s: the
   * bound the gateway's key cache promises for a revoked key, which a socket must not outlive.
   */
  CIO_SESSION_KEY_CHECK_S: envInt(30, 1, 30),
  /** How many past messages a turn sends to the model. */
  CIO_SESSION_HISTORY_MAX: envInt(100, 1, 10_000),
  /**
   * And at most this many characters of them (the newest message always goes): a pasted document of 1 MB
   * went along with every later turn, past the body limit a request has, until 100 newer messages pushed it out.
   */
  CIO_SESSION_HISTORY_MAX_CHARS: envInt(1_000_000, 1_000),
  /**
   * A turn's `delta` events are deleted this long after it ended (its message or error event stays): a
   * client back within it still gets the answer token by token. An hour covers a dropped connection, a
   * laptop lid closed over lunch, a redeploy; every delta kept forever made the log grow without bound.
   */
  CIO_SESSION_DELTA_RETENTION_S: envInt(3600, 0),
  /**
   * The log keeps about this many events (the alarm trims it, at least every turn heartbeat while a turn
   * runs); older ones are dropped, and a resume from before them gets `resume_too_old`. A thousand turns'
   * messages and tools are well inside it.
   */
  CIO_SESSION_MAX_EVENTS: envInt(50_000, 100),
  /**
   * Most bytes one replay (a `resume`, or the events since `ready`) or one page of GET messages sends at once;
   * the first event or message always goes, however big. A replay sent up to CIO_SESSION_MAX_EVENTS events in
   * one synchronous step and a page loaded 101 rows, each message up to about 1 MB: a session with a hundred
   * pasted documents pushed the object past its 128 MB on a reload. A replay cut short says where to resume
   * (`replay_incomplete`); a page comes back shorter, with has_more.
   */
  CIO_SESSION_SEND_MAX_BYTES: envInt(4 * 1024 * 1024, 64 * 1024, 64 * 1024 * 1024),
});
export type SessionSettings = z.infer<typeof SessionSettingsSchema>;

export const sessionSettings = (env: object) => loadSettings(SessionSettingsSchema, env);
