/** The admin commands talk to a running stack's admin API, exactly as an operator's script would. */
import { defineCittyPlugin, defineCommand, type ArgsDef, type CommandDef } from "citty";
import { join } from "node:path";
import { savedCredentials, stateDir } from "../lib/local-stack.ts";

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
  let saved;
  try {
    saved = savedCredentials(join(stateDir(), "dev-credentials.json"));
  } catch (err) {
    throw new AdminError(`${(err as Error).message} Or pass --token.`);
  }
  if (saved.adminToken) return saved.adminToken;
  throw new AdminError("No admin token: pass --token, set CIO_ADMIN_TOKEN, or run `npm start` once.");
}

/**
 * The API path of `segments`, each encoded whole: an id as typed (`ten_x?`, `../../ten_b/keys/key_1`) must stay
 * one segment, not end the path at a `?` or `#` or climb to another route. `.` and `..` are refused: a URL
 * resolves them even encoded (`%2E%2E`), so no encoding keeps them one segment; nor can an empty one be.
 */
export function apiPath(...segments: string[]): string {
  const bad = segments.find((s) => s === "" || s === "." || s === "..");
  if (bad !== undefined) throw new AdminError(`"${bad}" is not an id: ids are sent as one part of the URL path, which cannot be empty, "." or ".."`);
  return segments.map((s) => `/${encodeURIComponent(s)}`).join("");
}

/** A call of the admin API at `path`, which apiPath builds (a query from queryOf may follow it). */
export async function adminCall(args: { url?: string; token?: string }, method: string, path: string, body?: unknown): Promise<unknown> {
  // Without its trailing slash: `https://host/` gave `//admin/...`, which the gateway answers 404.
  const base = (args.url ?? process.env.CIO_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`).replace(/\/+$/, "");
  // Outside the try below: a missing token is not an unreachable stack.
  const token = adminToken(args.token);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
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

/** The flags of a list command: the admin API answers a page at a time, as /admin/audit does. */
export const pageArgs = {
  limit: { type: "string", description: "Items per page (default 100, at most 1000)" },
  after: { type: "string", description: "The last id of the previous page" },
} as const;

/** `limit` and `after` as the list routes take them (append with queryOf). */
export const pageQuery = (args: { limit?: string; after?: string }) => ({ limit: positiveInt("limit", args.limit)?.toString(), after: args.after });

/**
 * A page as the API answers it, and, when more follow, how to get the next one: on stderr, so what is printed
 * on stdout stays one JSON document.
 */
export function printPage(page: unknown) {
  print(page);
  const p = page as { has_more?: boolean; last_id?: unknown; data?: { id?: unknown }[] };
  if (p.has_more) console.error(`More follow: pass --after ${String(p.last_id ?? p.data?.at(-1)?.id)} for the next page.`);
}

/**
 * A count or limit flag: a positive whole number, or undefined when not given. Checked here, before anything
 * is sent: Number("2OOOOOO") is NaN, JSON sends NaN as null, and the API takes null as "no limit".
 */
export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new AdminError(`--${flag} must be a positive whole number, not "${value}"`);
  return n;
}

/** The flags a command declares, as typed on the command line: `--name` and `-alias`. */
function flagsOf(args: ArgsDef): string[] {
  return Object.entries(args).flatMap(([name, def]) => {
    if (def.type === "positional") return [];
    const aliases = "alias" in def ? [def.alias ?? []].flat() : [];
    return [`--${name}`, ...aliases.map((a) => `-${a}`)];
  });
}

/** citty ignores a flag a command does not declare: a misspelt `--budegt 5` would create a tenant with no budget. */
const onlyKnownFlags = defineCittyPlugin({
  name: "only-known-flags",
  async setup({ rawArgs, cmd }) {
    const known = flagsOf((typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {});
    const end = rawArgs.indexOf("--");
    const given = (end < 0 ? rawArgs : rawArgs.slice(0, end)).filter((a) => /^-[^\d]/.test(a)).map((a) => a.split("=")[0]!);
    const unknown = given.filter((flag) => !known.includes(flag));
    if (unknown.length) throw new AdminError(`unknown option ${unknown.join(", ")}; this command takes ${known.join(", ")} (and --help)`);
  },
});

/** An admin command that refuses flags it does not know (every command that runs has to be one). */
export function adminCommand<T extends ArgsDef>(def: CommandDef<T>): CommandDef<T> {
  return defineCommand({ ...def, plugins: [...(def.plugins ?? []), onlyKnownFlags] });
}

/** `?a=1&b=2` of the options given (empty ones left out), or "" when none is. */
export function queryOf(options: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(options).filter((e): e is [string, string] => !!e[1]));
  return query.size ? `?${query}` : "";
}
