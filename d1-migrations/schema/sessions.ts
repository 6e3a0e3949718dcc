import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "./tenants.js";

const now = sql`(unixepoch('subsec') * 1000)`;

/**
 * The index of chat sessions, for listing. The session itself (history, event log, sockets) lives in its
 * SessionDO; this row is written by that object when it is created, used and deleted.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    id: text("id").notNull(),
    title: text("title"),
    model: text("model").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    lastActiveAt: integer("last_active_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index("sessions_tenant_created").on(t.tenantId, t.createdAt)],
);
export type SessionRow = typeof sessions.$inferSelect;

/**
 * One-time tickets that let a browser open a session's WebSocket (browsers cannot set headers on one).
 * Only the SHA-256 of the ticket is stored; redeeming deletes the row, so a ticket works once.
 */
export const sessionTickets = sqliteTable(
  "session_tickets",
  {
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    sessionId: text("session_id").notNull(),
    keyId: text("key_id").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("session_tickets_expires").on(t.expiresAt)],
);
