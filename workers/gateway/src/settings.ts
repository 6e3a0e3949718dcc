import { z } from "zod";
import { envBearerToken, envInt, envList, envLogLevel, loadSettings } from "../../../lib/config.js";

export const GatewaySettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  CIO_MAX_BODY_BYTES: envInt(1024 * 1024, 1024, 100 * 1024 * 1024),
  /** Admin API bearer token; the admin API answers 403 while it is unset. */
  CIO_ADMIN_TOKEN: envBearerToken(),
  /** How long a key lookup is cached per isolate; capped at 30 s so a revoked key stops within 30 s. */
  CIO_KEY_CACHE_TTL_S: envInt(30, 0, 30),
  CIO_DEFAULT_KEY_RPM: envInt(600, 1),
  CIO_DEFAULT_KEY_CONCURRENCY: envInt(50, 1),
  CIO_DEFAULT_TENANT_RPM: envInt(3000, 1),
  CIO_DEFAULT_TENANT_CONCURRENCY: envInt(200, 1),
  /** A request still holding a concurrency slot after this long is assumed lost and its slot freed. */
  CIO_LEASE_TTL_MS: envInt(15 * 60_000, 1000),
  /** Largest file `POST /v1/files` accepts (OpenAI's limit is 512 MB); uploads stream, so memory stays flat. */
  CIO_FILES_MAX_BYTES: envInt(512 * 1024 * 1024, 1),
  /**
   * Most bytes of an upload's multipart preamble (before the first boundary), and of one part's headers:
   * the parser holds these while it searches, so past them it refuses the body instead of reading on.
   */
  CIO_FILES_MAX_HEADER_BYTES: envInt(16 * 1024, 1024, 1024 * 1024),
  /** Uploads go to R2 in pieces of this size (R2 multipart parts: at least 5 MiB). */
  CIO_FILES_PART_BYTES: envInt(8 * 1024 * 1024, 5 * 1024 * 1024, 100 * 1024 * 1024),
  /** Most rows a streamed runner query (`stream: true`) may return; nothing is buffered, so this can be large. */
  CIO_RUNNER_STREAM_MAX_ROWS: envInt(10_000_000, 1, 1_000_000_000),
  /** How long a WebSocket ticket for a browser (POST /v1/sessions/:id/ticket) stays valid. */
  CIO_SESSION_TICKET_TTL_S: envInt(60, 1, 3600),
  /** Allowed browser origins for CORS; "*" allows any. */
  CIO_CORS_ORIGINS: envList().transform((l): string | string[] => (!l.length || l.includes("*") ? "*" : l)),
});
export type GatewaySettings = z.infer<typeof GatewaySettingsSchema>;

export const gatewaySettings = (env: object) => loadSettings(GatewaySettingsSchema, env);

/** One value per settings object, built on first use: for what is costly to build on every request. */
export function perSettings<T>(build: (s: GatewaySettings) => T): (s: GatewaySettings) => T {
  const built = new WeakMap<GatewaySettings, T>();
  return (s) => {
    let value = built.get(s);
    if (value === undefined) built.set(s, (value = build(s)));
    return value;
  };
}
