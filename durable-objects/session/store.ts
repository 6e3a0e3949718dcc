/**
 * A session's own SQLite: one metadata row, the conversation's messages, the turns (so one cut off by an
 * eviction is found again), and the append-only event log whose `seq` is strictly increasing; after a delete,
 * only a marker the tenant's socket count depends on (core.ts, destroy). Every read
 * and write is synchronous, so an append and its broadcast happen without anything in between.
 */
import type { ChatMessage } from "../../lib/protocol/index.js";
import type { LoggedEvent, NewEvent, SessionMessage, SessionRef, StoredMessage, TurnStatus } from "../../lib/protocol/session.js";
import { chatMessageOf } from "./client-tools.js";
import { byteBudget } from "./byte-budget.js";
import { compactLog, logFloor, nextDeltaExpiry, type CompactRules } from "./compaction.js";

export interface SessionMeta {
  tenantId: string;
  sessionId: string;
  title: string | null;
  model: string;
  createdAt: number;
  lastActiveAt: number;
}

export type { TurnStatus };
/** A logged event as the frame a socket is sent, with its seq and its size in bytes. */
export interface LogFrame {
  seq: number;
  data: string;
  bytes: number;
}
export interface TurnRow {
  id: string;
  status: TurnStatus;
  startedAt: number;
  leaseId: string | null;
}

// Migrations only add; each runs once, in order, recorded by its index in `schema_version`.
const MIGRATIONS = [
  `CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), tenant_id TEXT NOT NULL, session_id TEXT NOT NULL,
     title TEXT, model TEXT NOT NULL, created_at INTEGER NOT NULL, last_active_at INTEGER NOT NULL);
   CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, at INTEGER NOT NULL);
   CREATE TABLE messages (seq INTEGER PRIMARY KEY, turn_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE turns (id TEXT PRIMARY KEY, status TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, error TEXT);`,
  // What is left of a deleted session until its tenant's limiter has heard that its sockets are gone.
  `CREATE TABLE deleted (id INTEGER PRIMARY KEY CHECK (id = 1), tenant_id TEXT NOT NULL, session_id TEXT NOT NULL);`,
  // A message's links to the client's tools (JSON): an answer's tool_calls, a tool message's tool_call_id.
  `ALTER TABLE messages ADD COLUMN links TEXT;`,
  // Compaction (compaction.ts): which ended turns still have deltas, the seq below which the cap dropped
  // everything, and the deltas by turn, so a turn's are deleted without scanning the whole log.
  `ALTER TABLE turns ADD COLUMN compacted INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE meta ADD COLUMN log_floor INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX events_delta_turn ON events (json_extract(data, '$.id')) WHERE type = 'delta';`,
  // The request id a turn's answer is recorded under (its tool calls), which its events give for POST /v1/feedback.
  `ALTER TABLE turns ADD COLUMN request_id TEXT;`,
  // The concurrency lease a turn holds: one cut off by a reset is settled by no pipeline, so the next
  // incarnation frees its slot (turns.ts, failOrphans) rather than leaving it taken until the lease expires.
  `ALTER TABLE turns ADD COLUMN lease_id TEXT;`,
];

type MessageRow = { seq: number; turn_id: string; role: string; content: string; links: string | null; created_at: number; turn_status: TurnStatus };
/**
 * The messages that are part of the conversation: those of turns that succeeded, or are running (a turn's own
 * input). A failed or cancelled turn has no answer, and its input stayed in what the model saw: a retried
 * question went to the model twice, and a retried tool result was refused as answered already.
 */
const CONVERSATION = "messages m JOIN turns t ON t.id = m.turn_id AND t.status IN ('succeeded', 'running')";
const linksOf = (m: StoredMessage) => (m.tool_calls?.length ? JSON.stringify({ tool_calls: m.tool_calls }) : m.tool_call_id ? JSON.stringify({ tool_call_id: m.tool_call_id }) : null);
const storedOf = (r: MessageRow): StoredMessage => ({ role: r.role as SessionMessage["role"], content: r.content, ...(r.links ? (JSON.parse(r.links) as object) : {}) });

export class SessionStore {
  private seq = 0;
  private readonly sql: SqlStorage;

  constructor(private readonly storage: Pick<DurableObjectStorage, "sql" | "transactionSync">) {
    this.sql = storage.sql;
    this.migrate();
  }

  /**
   * Runs `write` as one transaction: all of it is stored, or none. A seq it gave out is given out again after
   * a rollback, which is safe as long as its events go out only once this returned (turns.ts, begin).
   */
  atomically<T>(write: () => T): T {
    const seq = this.seq;
    try {
      return this.storage.transactionSync(write);
    } catch (err) {
      this.seq = seq;
      throw err;
    }
  }

  private migrate() {
    this.sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = this.sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
    let version = row?.version ?? 0;
    if (!row) this.sql.exec("INSERT INTO schema_version (version) VALUES (0)");
    for (; version < MIGRATIONS.length; version++) this.sql.exec(MIGRATIONS[version]!);
    this.sql.exec("UPDATE schema_version SET version = ?", version);
    // The floor too: a seq the log cap dropped (compaction.ts) must never be given out again after a restart.
    this.seq = this.sql.exec<{ s: number }>("SELECT MAX(IFNULL((SELECT MAX(seq) FROM events), 0), IFNULL((SELECT MAX(log_floor) FROM meta), 0)) AS s").one().s;
  }

  meta(): SessionMeta | null {
    const r = this.sql
      .exec<Record<string, string | number | null>>("SELECT tenant_id, session_id, title, model, created_at, last_active_at FROM meta")
      .toArray()[0];
    if (!r) return null;
    return {
      tenantId: String(r.tenant_id),
      sessionId: String(r.session_id),
      title: r.title === null ? null : String(r.title),
      model: String(r.model),
      createdAt: Number(r.created_at),
      lastActiveAt: Number(r.last_active_at),
    };
  }

  create(m: SessionMeta) {
    // A live session reports its exact socket count from now on, which settles what the deleted one owed.
    this.clearDeleted();
    this.sql.exec(
      "INSERT INTO meta (id, tenant_id, session_id, title, model, created_at, last_active_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
      m.tenantId,
      m.sessionId,
      m.title,
      m.model,
      m.createdAt,
      m.lastActiveAt,
    );
  }

  /** The deleted session whose socket count the tenant's limiter has not yet been told is 0, if any. */
  deleted(): SessionRef | null {
    const r = this.sql.exec<{ tenant_id: string; session_id: string }>("SELECT tenant_id, session_id FROM deleted").toArray()[0];
    return r ? { tenantId: r.tenant_id, sessionId: r.session_id } : null;
  }

  /**
   * Empties the session, leaving only the deleted marker, in one synchronous step: the tables stay, so a
   * turn's follower ending a moment later (it was just stopped) finds an empty session, not missing tables.
   */
  wipe(ref: SessionRef) {
    for (const table of ["meta", "events", "messages", "turns"]) this.sql.exec(`DELETE FROM ${table}`);
    this.seq = 0;
    this.markDeleted(ref);
  }

  markDeleted(ref: SessionRef) {
    this.sql.exec("INSERT OR REPLACE INTO deleted (id, tenant_id, session_id) VALUES (1, ?, ?)", ref.tenantId, ref.sessionId);
  }

  clearDeleted() {
    this.sql.exec("DELETE FROM deleted");
  }

  touch(now: number) {
    this.sql.exec("UPDATE meta SET last_active_at = MAX(last_active_at, ?)", now);
  }

  get lastSeq() {
    return this.seq;
  }

  /** Gives the event the next seq and stores it; the seq is never reused, even by a failed write after it. */
  append(e: NewEvent, now = Date.now()): LoggedEvent {
    const seq = ++this.seq;
    this.sql.exec("INSERT INTO events (seq, type, data, at) VALUES (?, ?, ?, ?)", seq, e.type, JSON.stringify(e), now);
    return { ...e, seq } as LoggedEvent;
  }

  /**
   * Events after `seq`, in order, each as the JSON frame a socket is sent and its size in UTF-8 bytes, from a
   * cursor: a long log is neither loaded at once nor parsed and serialized again (the stored object plus its
   * seq, as `send` writes it), and the caller stops reading where its byte budget ends.
   */
  *framesAfter(seq: number): Generator<LogFrame> {
    const rows = this.sql.exec<{ seq: number; data: string; bytes: number }>("SELECT seq, data, length(CAST(data AS BLOB)) AS bytes FROM events WHERE seq > ? ORDER BY seq", seq);
    for (const r of rows) {
      const data = `${r.data.slice(0, -1)},"seq":${r.seq}}`;
      // What is added (`,"seq":N`) is ASCII: a character is a byte.
      yield { seq: r.seq, data, bytes: r.bytes + data.length - r.data.length };
    }
  }

  /** A resume must start at or after this seq: the cap dropped every event up to it (compaction.ts). */
  get floor(): number {
    return logFloor(this.sql);
  }

  /** One bounded compaction pass; true when it stopped with work left. */
  compact(rules: CompactRules): boolean {
    return compactLog(this.sql, rules);
  }

  /** When the next ended turn's deltas are due to be compacted (ms), if any are kept. */
  nextCompaction(deltaRetentionMs: number): number | null {
    return nextDeltaExpiry(this.sql, deltaRetentionMs);
  }

  addMessage(seq: number, turnId: string, m: StoredMessage, now = Date.now()) {
    this.sql.exec("INSERT INTO messages (seq, turn_id, role, content, links, created_at) VALUES (?, ?, ?, ?, ?, ?)", seq, turnId, m.role, m.content, linksOf(m), now);
  }

  /**
   * A page of every message after `after`, those of failed and cancelled turns too, each with its turn's status:
   * at most `limit` of them and `maxBytes` of their text and links (the first always), read from a cursor.
   */
  messages(after: number, limit: number, maxBytes: number): { data: SessionMessage[]; has_more: boolean } {
    const fits = byteBudget(maxBytes);
    const data: SessionMessage[] = [];
    const rows = this.sql.exec<MessageRow & { bytes: number }>(
      `SELECT m.seq, m.turn_id, m.role, m.content, m.links, m.created_at, t.status AS turn_status,
         length(CAST(m.content AS BLOB)) + IFNULL(length(CAST(m.links AS BLOB)), 0) AS bytes
       FROM messages m JOIN turns t ON t.id = m.turn_id WHERE m.seq > ? ORDER BY m.seq LIMIT ?`,
      after,
      limit + 1,
    );
    for (const r of rows) {
      if (data.length === limit || !fits(r.bytes)) return { data, has_more: true };
      data.push({ id: r.turn_id, object: "session.message", seq: r.seq, ...storedOf(r), turn_status: r.turn_status, created_at: r.created_at });
    }
    return { data, has_more: false };
  }

  /**
   * The conversation's newest messages, at most `max` of them and `maxChars` characters (the newest one always),
   * oldest first, starting with no answer whose question was cut off (some models refuse a conversation that opens so).
   */
  history(max: number, maxChars: number): ChatMessage[] {
    const newest = this.sql.exec<MessageRow>(`SELECT m.role, m.content, m.links FROM ${CONVERSATION} ORDER BY m.seq DESC LIMIT ?`, max).toArray();
    const kept: typeof newest = [];
    let chars = 0;
    for (const r of newest) {
      chars += r.content.length;
      if (kept.length && chars > maxChars) break;
      kept.push(r);
    }
    // Nor with a tool's result whose call was cut off: a model refuses one that answers no call it can see.
    while (kept.length && (kept.at(-1)!.role === "assistant" || kept.at(-1)!.role === "tool")) kept.pop();
    return kept.reverse().map((r) => chatMessageOf(storedOf(r)));
  }

  /** The conversation's newest answer and every message after it, oldest first: what a request's tool results must answer. */
  sinceLastAnswer(): ChatMessage[] {
    return this.sql
      .exec<MessageRow>(`SELECT m.role, m.content, m.links FROM ${CONVERSATION} WHERE m.seq >= (SELECT MAX(m.seq) FROM ${CONVERSATION} WHERE m.role = 'assistant') ORDER BY m.seq`)
      .toArray()
      .map((r) => chatMessageOf(storedOf(r)));
  }

  hasTurn(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM turns WHERE id = ?", id).toArray().length > 0;
  }

  /**
   * An id no turn has yet: `base` (a request id), else `base.<last seq>`, else that with a counter. Clients
   * pick both their request ids and their socket turns' ids, so the derived one may be taken too.
   */
  freeTurnId(base: string): string {
    if (!this.hasTurn(base)) return base;
    const derived = `${base}.${this.seq}`;
    let id = derived;
    for (let n = 1; this.hasTurn(id); n++) id = `${derived}.${n}`;
    return id;
  }

  startTurn(id: string, requestId: string, leaseId: string | null, now = Date.now()) {
    this.sql.exec("INSERT INTO turns (id, status, started_at, request_id, lease_id) VALUES (?, 'running', ?, ?, ?)", id, now, requestId, leaseId);
  }

  /** The request id the turn's answer is recorded under; null for a turn started before it was kept. */
  turnRequestId(id: string): string | null {
    return this.sql.exec<{ request_id: string | null }>("SELECT request_id FROM turns WHERE id = ?", id).toArray()[0]?.request_id ?? null;
  }

  endTurn(id: string, status: Exclude<TurnStatus, "running">, error: string | null = null, now = Date.now()) {
    this.sql.exec("UPDATE turns SET status = ?, ended_at = ?, error = ? WHERE id = ? AND status = 'running'", status, now, error, id);
  }

  runningTurns(): TurnRow[] {
    return this.sql
      .exec<{ id: string; started_at: number; lease_id: string | null }>("SELECT id, started_at, lease_id FROM turns WHERE status = 'running'")
      .toArray()
      .map((r) => ({ id: r.id, status: "running", startedAt: r.started_at, leaseId: r.lease_id }));
  }

  turnStatus(id: string): TurnStatus | null {
    return (this.sql.exec<{ status: string }>("SELECT status FROM turns WHERE id = ?", id).toArray()[0]?.status as TurnStatus | undefined) ?? null;
  }
}
