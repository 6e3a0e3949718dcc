import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import { runCommand } from "citty";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RUNNER_PROTOCOL_VERSION } from "../../../lib/protocol/runner.ts";
import { parseConfig } from "../config/load.ts";
import { RunnerError } from "../errors.ts";
import { failureMessage, runCli } from "../main.ts";
import { ScriptedHub } from "../test-support/hub.ts";
import { makeSqliteFile } from "../test-support/sqlite-file.ts";
import { out } from "./_args.ts";
import doctor from "./doctor.ts";
import init from "./init.ts";
import installService from "./install-service.ts";

let dir: string;
let printed: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cio-cmd-"));
  printed = [];
  vi.spyOn(out, "print").mockImplementation((line) => void printed.push(line));
});
afterEach(() => vi.restoreAllMocks());

describe("init", () => {
  it("writes a commented config that is valid and private", async () => {
    const path = join(dir, "cio-runner.yaml");
    await runCommand(init, { rawArgs: ["-c", path, "--cloud-url", "https://gw.example.com", "--name", "warehouse", "--db-kind", "postgres"] });
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(/^# cio-runner configuration/);
    expect(text).toContain("urlEnv:");
    const config = parseConfig(text);
    expect(config).toMatchObject({ cloud: { url: "https://gw.example.com", tokenEnv: "CIO_RUNNER_TOKEN" }, runner: { name: "warehouse" }, database: { kind: "postgres" } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(printed[0]).toContain(path);
  });

  it("--force over an existing file leaves it readable by its owner only (it may hold a database password)", async () => {
    const path = join(dir, "open.yaml");
    writeFileSync(path, "x", { mode: 0o644 });
    await runCommand(init, { rawArgs: ["-c", path, "--force", "--cloud-url", "https://gw.example.com", "--name", "w", "--db-kind", "postgres", "--db-url", "postgres://u:secret@db/x"] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("refuses a cloud URL in clear text unless it is this machine", () => {
    const config = (url: string) => `cloud: { url: "${url}", token: "t" }\nrunner: { name: "w" }\ndatabase: { kind: sqlite, path: /tmp/x.db }\n`;
    expect(() => parseConfig(config("http://gw.example.com"))).toThrow(/must use https/);
    expect(() => parseConfig(config("ws://10.0.0.5:8787"))).toThrow(/must use https/);
    expect(parseConfig(config("http://127.0.0.1:8787")).cloud.url).toBe("http://127.0.0.1:8787");
    expect(parseConfig(config("https://gw.example.com")).cloud.url).toBe("https://gw.example.com");
  });

  it("refuses to overwrite without --force and rejects unknown database kinds", async () => {
    const path = join(dir, "c.yaml");
    writeFileSync(path, "x");
    await expect(runCommand(init, { rawArgs: ["-c", path] })).rejects.toThrow(/already exists/);
    await expect(runCommand(init, { rawArgs: ["-c", join(dir, "d.yaml"), "--db-kind", "oracle"] })).rejects.toBeInstanceOf(RunnerError);
  });
});

describe("doctor", () => {
  let hub: ScriptedHub;
  beforeEach(async () => {
    hub = await ScriptedHub.start("doctor-token");
  });
  afterEach(() => hub.close());

  const config = (over: { token?: string; path?: string; extra?: string; name?: string } = {}) => {
    const path = join(dir, "runner.yaml");
    writeFileSync(path, `cloud: { url: "${hub.url}", token: "${over.token ?? "doctor-token"}" }
runner: { name: "${over.name ?? "doc"}" }
database: { kind: sqlite, path: "${over.path ?? makeSqliteFile(10)}" }
${over.extra ?? ""}`);
    return path;
  };

  it("passes when the config, policy, database and cloud are all good, having said hello as start does and left cleanly", async () => {
    hub.answerHellos("doc");
    await runCommand(doctor, { rawArgs: ["-c", config()] });
    expect(printed.join("\n")).toMatch(/ok\s+config[\s\S]*ok\s+policy[\s\S]*ok\s+database\s+sqlite: connected, 2 table\(s\)[\s\S]*ok\s+cloud.*accepted the runner token and runner "doc"[\s\S]*All checks passed/);
    const hello = hub.frames.find((f) => f.type === "hello");
    expect(hello).toMatchObject({ runnerName: "doc", protocol: RUNNER_PROTOCOL_VERSION, dbKind: "sqlite" });
    expect(hello?.type === "hello" && hello.schema.tables).toHaveLength(2);
    await vi.waitUntil(() => hub.closes.length === 1);
    expect(hub.closes).toEqual([1000]); // a close handshake, not a cut connection
  });

  it("fails when the hub refuses the runner's name after hello, as start would be refused in a loop", async () => {
    hub.answerHellos("warehouse"); // the token is for "warehouse"; init writes "default" unless told otherwise
    await expect(runCommand(doctor, { rawArgs: ["-c", config({ name: "default" }), "--timeout", "2000"] })).rejects.toThrow(/1 problem\(s\): cloud/);
    expect(printed.join("\n")).toMatch(/FAIL cloud .*check runner\.name.*this token is for runner 'warehouse', not 'default' \(close 1008\)/);
    expect(printed.join("\n")).not.toMatch(/All checks passed/);
  });

  it("fails when the hub never acknowledges hello", async () => {
    await expect(runCommand(doctor, { rawArgs: ["-c", config(), "--timeout", "300"] })).rejects.toThrow(/1 problem\(s\): cloud/);
    expect(printed.join("\n")).toMatch(/FAIL cloud .*no hello-ack within 300 ms/);
  });

  it("fails with a clear report on a refused token, a missing database and a bad policy", async () => {
    const path = config({ token: "wrong", path: "/nonexistent/x.db", extra: 'policy: { namedQueries: [{ name: "bad", sql: "DELETE FROM t" }] }' });
    await expect(runCommand(doctor, { rawArgs: ["-c", path, "--timeout", "2000"] })).rejects.toThrow(/3 problem\(s\): policy, database, cloud/);
    const report = printed.join("\n");
    expect(report).toMatch(/FAIL policy\s+named query bad/);
    expect(report).toMatch(/FAIL database\s+sqlite: database unavailable/);
    expect(report).toMatch(/FAIL cloud .*token was refused \(HTTP 401\)/);
  });

  it("fails on an unreadable config", async () => {
    await expect(runCommand(doctor, { rawArgs: ["-c", join(dir, "missing.yaml")] })).rejects.toThrow(/1 problem/);
    expect(printed.join("\n")).toMatch(/FAIL config\s+cannot read config/);
  });
});

describe("install-service", () => {
  it("writes a hardened systemd unit into the given directory", async () => {
    await runCommand(installService, { rawArgs: ["--dir", dir, "-c", "/etc/cio-runner/runner.yaml", "--exec", "/usr/bin/cio-runner", "--user", "svc"] });
    const unit = readFileSync(join(dir, "cio-runner.service"), "utf8");
    expect(unit).toContain("ExecStart=/usr/bin/cio-runner start --config /etc/cio-runner/runner.yaml");
    expect(unit).toMatch(/User=svc\n/);
    expect(unit).toContain("Restart=always");
    expect(unit).toContain("NoNewPrivileges=true");
    expect(unit).toContain("ReadWritePaths=/var/log/cio-runner");
    expect(unit).toContain("WantedBy=multi-user.target");
    await expect(runCommand(installService, { rawArgs: ["--dir", dir] })).rejects.toThrow(/already exists/);
  });
});

describe("the command line", () => {
  it("prints help for the program and for each command, exit code 0", async () => {
    const logs: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logs.push(a.join(" ")));
    for (const cmd of ["", "init", "start", "doctor", "install-service"]) {
      logs.length = 0;
      expect(await runCli(cmd ? [cmd, "--help"] : ["--help"])).toBe(0);
      expect(logs.join("\n"), cmd).toMatch(cmd ? new RegExp(`cio-runner ${cmd}`) : /init\|start\|doctor\|install-service/);
    }
  });

  it("turns a RunnerError into a message and exit code 1, without process.exit", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void errors.push(a.join(" ")));
    expect(await runCli(["start", "-c", join(dir, "none.yaml")])).toBe(1);
    expect(errors.join("\n")).toMatch(/cio-runner: cannot read config .*none.yaml/);
  });

  it("never prints the database password when the database URL does not parse", async () => {
    // An unencoded # in the password makes `new URL` throw a TypeError whose `input` is the whole URL.
    const path = join(dir, "leak.yaml");
    writeFileSync(path, `cloud: { url: "http://127.0.0.1:9", token: "t" }
runner: { name: "leak" }
database: { kind: mysql, url: "mysql://app:pa#ss@db/x" }
`);
    const shown: string[] = [];
    const capture = (...a: unknown[]) => void shown.push(format(...a)); // format() is what console prints
    for (const m of ["log", "error", "warn", "info"] as const) vi.spyOn(console, m).mockImplementation(capture);
    expect(await runCli(["start", "-c", path])).toBe(1);
    expect(await runCli(["doctor", "-c", path])).toBe(1);
    const text = [...shown, ...printed].join("\n");
    expect(text).not.toMatch(/pa#ss|#ss|ss@db/);
    expect(text).toMatch(/cio-runner: database\.url is not a valid URL/);
  });

  it("prints an unexpected error as its redacted message only, never its other properties", () => {
    const err = Object.assign(new Error("connect postgres://app:s3cret@db/x failed"), { input: "postgres://app:s3cret@db/x" });
    const line = failureMessage(err);
    expect(line).toBe("cio-runner: unexpected error: connect postgres://***@db/x failed");
    expect(failureMessage(new RunnerError("config", "bad mysql://app:s3cret@db/x"))).toBe("cio-runner: bad mysql://***@db/x");
    expect(failureMessage("thrown string")).toBe("cio-runner: unexpected error: thrown string");
  });
});
