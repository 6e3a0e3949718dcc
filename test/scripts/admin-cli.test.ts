/**
 * `npm run admin` as the operator runs it, against a stand-in admin API that records what reaches it (the
 * real API is covered by test/e2e/admin-cli.test.ts). What is checked here happens before anything is sent:
 * flags the CLI must refuse, and which stack it talks to when `.env` says where that is.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

interface Received {
  method: string;
  url: string;
  authorization?: string;
  body: unknown;
}

let server: Server;
let url: string;
let received: Received[] = [];
/** What the stand-in answers every request with. */
const EMPTY_LIST = { object: "list", data: [] };
let answer: unknown = EMPTY_LIST;
const tmp: string[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    received.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: await jsonOf(req) });
    res.setHeader("content-type", "application/json").end(JSON.stringify(answer));
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.close();
  tmp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
beforeEach(() => {
  received = [];
  answer = EMPTY_LIST;
});

async function jsonOf(req: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : undefined;
}

/** Where the stack is may only come from the flags, the files and the variables a test gives. */
const { CIO_URL, CIO_ADMIN_TOKEN, PORT, CIO_STATE_DIR, ...cleanEnv } = process.env;

/** Runs scripts/admin.ts under `root` (asynchronously: the stand-in API answers from this process). */
function admin(args: string[], root = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(root, "scripts/admin.ts"), ...args], { env: cleanEnv, cwd: root }, (err, stdout, stderr) =>
      res({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

const withStub = (...args: string[]) => admin([...args, "--url", url, "--token", "adm-test"]);

describe("npm run admin refuses bad flags before sending anything", () => {
  it.each([
    [["tenants", "create", "Acme", "--budget", "2OOOOOO"], '--budget must be a positive whole number, not "2OOOOOO"'],
    [["tenants", "create", "Acme", "--rpm", "0"], '--rpm must be a positive whole number, not "0"'],
    [["tenants", "create", "Acme", "--concurrency="], '--concurrency must be a positive whole number, not ""'],
    [["keys", "create", "ten_1", "--rpm", "1.5"], '--rpm must be a positive whole number, not "1.5"'],
    [["keys", "create", "ten_1", "--concurrency", "1e3"], '--concurrency must be a positive whole number, not "1e3"'],
    [["audit", "--limit", "ten"], '--limit must be a positive whole number, not "ten"'],
  ])("%j", async (args, message) => {
    const run = await withStub(...args);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(1);
    expect(received).toEqual([]);
  });

  it("refuses a misspelt flag, naming the flags the command takes", async () => {
    const run = await withStub("tenants", "create", "Acme", "--budegt", "5");
    expect(run.stderr).toContain("unknown option --budegt; this command takes --url, --token, --rpm, --concurrency, --budget");
    expect(run.code).toBe(1);
    expect(received).toEqual([]);
    expect((await withStub("runner-tokens", "list", "ten_1", "-x")).stderr).toContain("unknown option -x");
  });

  it("sends well-formed limits as numbers", async () => {
    const run = await withStub("tenants", "create", "Acme", "--budget", "2000000", "--rpm=60");
    expect(run.code).toBe(0);
    expect(received).toEqual([
      { method: "POST", url: "/admin/tenants", authorization: "Bearer adm-test", body: { name: "Acme", rpm_limit: 60, daily_token_budget: 2000000 } },
    ]);
    expect((await withStub("audit", "--limit", "5")).code).toBe(0);
    expect(received[1]!.url).toBe("/admin/audit?limit=5");
  });

  // Its positional token id was called `token` and replaced the --token flag: the command refused --token.
  it("takes --token on runner-tokens revoke as the admin token, beside the runner token's id", async () => {
    const run = await withStub("runner-tokens", "revoke", "ten_a", "rtk_1");
    expect(run.code, run.stderr).toBe(0);
    expect(received).toEqual([{ method: "DELETE", url: "/admin/tenants/ten_a/runner-tokens/rtk_1", authorization: "Bearer adm-test", body: undefined }]);
  });

  it("takes a --url with a trailing slash as the same stack", async () => {
    const run = await admin(["tenants", "list", "--url", `${url}/`, "--token", "adm-test"]);
    expect(run.code, run.stderr).toBe(0);
    expect(received.map((r) => r.url)).toEqual(["/admin/tenants"]);
  });
});

describe("npm run admin sends each id as one segment of the path", () => {
  // Before, an id went into the URL as typed: `ten_x?` ended the path (usage answered with the tenant, exit 0),
  // and a key id with `../` revoked a key of another tenant.
  it.each([
    [["tenants", "suspend", "ten x?#"], "PATCH /admin/tenants/ten%20x%3F%23"],
    [["tenants", "usage", "ten_x?"], "GET /admin/tenants/ten_x%3F/usage"],
    [["tenants", "usage", "ten/x", "--model", "m"], "GET /admin/tenants/ten%2Fx/usage?model=m"],
    [["keys", "list", "ten_a/.."], "GET /admin/tenants/ten_a%2F../keys"],
    [["keys", "create", "ten_a?"], "POST /admin/tenants/ten_a%3F/keys"],
    [["keys", "revoke", "ten_a", "../../ten_b/keys/key_1"], "DELETE /admin/tenants/ten_a/keys/..%2F..%2Ften_b%2Fkeys%2Fkey_1"],
    [["runner-tokens", "list", "ten_a#x"], "GET /admin/tenants/ten_a%23x/runner-tokens"],
    [["runner-tokens", "create", "ten_a/b", "db-1"], "POST /admin/tenants/ten_a%2Fb/runner-tokens"],
    [["runner-tokens", "revoke", "ten_a", "../rtk_1"], "DELETE /admin/tenants/ten_a/runner-tokens/..%2Frtk_1"],
  ])("%j", async (args, request) => {
    const run = await withStub(...args);
    expect(run.code, run.stderr).toBe(0);
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([request]);
  });

  it.each([[["keys", "revoke", "ten_a", ".."]], [["tenants", "suspend", "."]], [["runner-tokens", "list", ""]]])("refuses %j before sending anything", async (args) => {
    const run = await withStub(...args);
    expect(run.stderr).toMatch(/"\.{0,2}" is not an id/);
    expect(run.code).toBe(1);
    expect(received).toEqual([]);
  });
});

describe("npm run admin lists a page at a time", () => {
  it.each([
    [["tenants", "list"], "/admin/tenants?limit=2&after=x_3"],
    [["keys", "list", "ten_1"], "/admin/tenants/ten_1/keys?limit=2&after=x_3"],
    [["runner-tokens", "list", "ten_1"], "/admin/tenants/ten_1/runner-tokens?limit=2&after=x_3"],
    [["audit", "--tenant", "ten_1"], "/admin/audit?tenant_id=ten_1&limit=2&after=x_3"],
  ])("%j passes --limit and --after, and says when more follow", async (args, url) => {
    answer = { object: "list", data: [{ id: "x_2" }, { id: "x_1" }], has_more: true, first_id: "x_2", last_id: "x_1" };
    const run = await withStub(...args, "--limit", "2", "--after", "x_3");
    expect(run.code, run.stderr).toBe(0);
    expect(received.map((r) => r.url)).toEqual([url]);
    expect(JSON.parse(run.stdout)).toEqual(answer);
    expect(run.stderr).toContain("More follow: pass --after x_1 for the next page.");
  });

  it("says nothing more on the last page", async () => {
    answer = { object: "list", data: [{ id: "x_1" }], has_more: false, first_id: "x_1", last_id: "x_1" };
    const run = await withStub("tenants", "list");
    expect(received.map((r) => r.url)).toEqual(["/admin/tenants"]);
    expect(run.stderr).toBe("");
  });
});

describe("npm run admin reads .env as npm start does", () => {
  /** A copy of the scripts whose repository root holds `dotenv` as .env (the checkout's own .env is left alone). */
  function rootWithEnv(dotenv: string): string {
    const root = mkdtempSync(join(tmpdir(), "cio-admin-"));
    tmp.push(root);
    cpSync(join(ROOT, "scripts"), join(root, "scripts"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(root, ".env"), dotenv);
    return root;
  }

  it("talks to the PORT and uses the admin token of the CIO_STATE_DIR that .env names", async () => {
    const state = mkdtempSync(join(tmpdir(), "cio-admin-state-"));
    tmp.push(state);
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "dev-credentials.json"), JSON.stringify({ apiKey: "sk-cio-x", adminToken: "adm-from-state" }));
    const root = rootWithEnv(`PORT=${new URL(url).port}\nCIO_STATE_DIR=${state}\n`);
    const run = await admin(["tenants", "list"], root);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(received).toEqual([{ method: "GET", url: "/admin/tenants", authorization: "Bearer adm-from-state", body: undefined }]);
  });

  it("names a broken dev-credentials.json and says to delete it, instead of a raw SyntaxError", async () => {
    const state = mkdtempSync(join(tmpdir(), "cio-admin-state-"));
    tmp.push(state);
    writeFileSync(join(state, "dev-credentials.json"), '{"apiKey": "sk-cio-x", "adminTo');
    const run = await admin(["tenants", "list"], rootWithEnv(`PORT=${new URL(url).port}\nCIO_STATE_DIR=${state}\n`));
    expect(run.stderr).toContain(`${join(state, "dev-credentials.json")} is not valid JSON`);
    expect(run.stderr).toContain("Delete it and run `npm start` again");
    expect(run.stderr).not.toMatch(/SyntaxError|\n\s+at /);
    expect(run.code).toBe(1);
    expect(received).toEqual([]);
  });

  it("says a missing admin token is missing, not that the stack is unreachable", async () => {
    const empty = mkdtempSync(join(tmpdir(), "cio-admin-state-"));
    tmp.push(empty);
    const run = await admin(["tenants", "list"], rootWithEnv(`PORT=${new URL(url).port}\nCIO_STATE_DIR=${empty}\n`));
    expect(run.stderr).toContain("No admin token: pass --token");
    expect(run.stderr).not.toContain("Cannot reach");
    expect(run.code).toBe(1);
  });
});
