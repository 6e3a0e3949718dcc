/** A pool's status as the API shows it: one entry per live connection, and the newest runner's hello (or the last one seen). */
import type { RunnerStatus } from "../../lib/protocol/runner-hub.js";
import type { HelloFrame } from "../../lib/protocol/runner.js";
import type { ConnectionRow } from "./connections.js";

export interface LiveConnection {
  row: ConnectionRow | undefined;
  lastSeen: number;
  active: number;
}

export function statusOf(name: string, live: LiveConnection[], last?: { at: number; hello: HelloFrame | null }): RunnerStatus {
  const ready = live.filter((c): c is LiveConnection & { row: ConnectionRow } => c.row !== undefined);
  const newest = ready.filter((c) => c.row.hello).sort((a, b) => b.row.connectedAt - a.row.connectedAt)[0]?.row.hello ?? last?.hello ?? null;
  return {
    name,
    status: ready.some((c) => c.row.hello) ? "connected" : "offline",
    connections: ready.map((c) => ({
      connectionId: c.row.id,
      version: c.row.hello?.version ?? null,
      dbKind: c.row.hello?.dbKind ?? null,
      connectedAt: c.row.connectedAt,
      lastSeen: c.lastSeen,
      active: c.active,
    })),
    version: newest?.version ?? null,
    dbKind: newest?.dbKind ?? null,
    lastSeen: ready.length ? Math.max(...ready.map((c) => c.lastSeen)) : (last?.at ?? null),
    namedOnly: newest?.namedOnly ?? false,
    maxRows: newest?.maxRows ?? null,
    namedQueries: newest?.namedQueries ?? [],
    schema: newest?.schema ?? { tables: [] },
  };
}
