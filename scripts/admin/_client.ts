/** The admin commands talk to a running stack's admin API, exactly as an operator's script would. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../lib/local-stack.ts";

/** A user-facing failure: citty prints the stack of what a command throws, so ours is just the message. */
export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.stack = `error: ${message}`;
  }
}

export const connectionArgs = {
  url: { type: "string", description: "Gateway URL (default: CIO_URL or the local stack)" },
  token: { type: "string", description: "Admin token (default: CIO_ADMIN_TOKEN or the local stack's)" },
} as const;

function adminToken(given?: string): string {
  if (given) return given;
  if (process.env.CIO_ADMIN_TOKEN) return process.env.CIO_ADMIN_TOKEN;
  const file = join(stateDir(), "dev-credentials.json");
  if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { adminToken: string }).adminToken;
  throw new AdminError("No admin token: pass --token, set CIO_ADMIN_TOKEN, or run `npm start` once.");
}

export async function adminCall(args: { url?: string; token?: string }, method: string, path: string, body?: unknown): Promise<unknown> {
  const base = args.url ?? process.env.CIO_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken(args.token)}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new AdminError(`Cannot reach ${base}: is the stack running (npm start)? ${String(err)}`);
  }
  const payload = (await res.json().catch(() => ({}))) as { error?: { message: string } };
  if (!res.ok) throw new AdminError(`${method} ${path} failed (${res.status}): ${payload.error?.message ?? "no details"}`);
  return payload;
}

export const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
export const optionalInt = (v: unknown) => (v === undefined ? undefined : Number(v));

/** `?a=1&b=2` of the options given (empty ones left out), or "" when none is. */
export function queryOf(options: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(options).filter((e): e is [string, string] => !!e[1]));
  return query.size ? `?${query}` : "";
}
