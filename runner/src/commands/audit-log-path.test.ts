/**
 * The audit log the config names is the one the service may write, and the one doctor checks: the runner
 * refuses every query whose audit line it cannot append, and install-service once made only --audit-dir
 * (default /var/log/cio-runner) writable whatever policy.auditLog said.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "citty";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeSqliteFile } from "../test-support/sqlite-file.ts";
import { out } from "./_args.ts";
import doctor from "./doctor.ts";
import init from "./init.ts";
import installService from "./install-service.ts";

let dir: string;
let printed: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cio-audit-path-"));
  printed = [];
  vi.spyOn(out, "print").mockImplementation((line) => void printed.push(line));
});
afterEach(() => vi.restoreAllMocks());

describe("install-service: the writable directory is the config's audit log's", () => {
  const initConfig = async (auditLog: string) => {
    const config = join(dir, "runner.yaml");
    await runCommand(init, { rawArgs: ["-c", config, "--cloud-url", "https://gw.example.com", "--audit-log", auditLog] });
    return config;
  };
  const install = async (config: string, extra: string[] = []) => {
    await runCommand(installService, { rawArgs: ["--dir", dir, "-c", config, "--exec", "/usr/bin/cio-runner", "--force", ...extra] });
    return readFileSync(join(dir, "cio-runner.service"), "utf8").match(/^ReadWritePaths=.*$/gm);
  };

  it("makes the directory of policy.auditLog writable, and says it must exist", async () => {
    const config = await initConfig("/srv/cio/audit.jsonl");
    expect(await install(config)).toEqual(["ReadWritePaths=/srv/cio"]);
    expect(printed.join("\n")).toContain("mkdir -p /srv/cio && chown cio-runner /srv/cio");
  });

  it("takes an --audit-dir that holds the log, and refuses one that does not, writing no unit", async () => {
    const config = await initConfig("/srv/cio/logs/audit.jsonl");
    expect(await install(config, ["--audit-dir", "/srv/cio"])).toEqual(["ReadWritePaths=/srv/cio"]);
    await expect(install(config, ["--audit-dir", "/var/log/cio-runner", "--name", "other"])).rejects.toThrow(
      /--audit-dir \/var\/log\/cio-runner does not hold the audit log \/srv\/cio\/logs\/audit.jsonl that .*runner.yaml names \(policy.auditLog\)/,
    );
    await expect(install(config, ["--audit-dir", "/srv/ci"])).rejects.toThrow(/does not hold the audit log/);
  });

  it("without a config file, or with no audit log in it, uses --audit-dir or /var/log/cio-runner", async () => {
    const missing = join(dir, "missing.yaml");
    expect(await install(missing)).toEqual(["ReadWritePaths=/var/log/cio-runner"]);
    expect(await install(missing, ["--audit-dir", "/data/cio"])).toEqual(["ReadWritePaths=/data/cio"]);
    const bare = join(dir, "bare.yaml");
    writeFileSync(bare, 'cloud: { url: "https://gw.example.com", tokenEnv: T }\nrunner: { name: w }\ndatabase: { kind: sqlite, path: /x.db }\n');
    expect(await install(bare)).toEqual(["ReadWritePaths=/var/log/cio-runner"]);
  });

  it("refuses a config it cannot use, rather than guess where the log goes", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "cloud: [");
    await expect(install(bad)).rejects.toThrow(/bad.yaml is not valid YAML/);
  });
});

describe("doctor: the audit log can be appended to", () => {
  // No hub listens there: the cloud check fails, and only the audit check is looked at.
  const checksFor = async (auditLog: string) => {
    const config = join(dir, "runner.yaml");
    writeFileSync(config, `cloud: { url: "http://127.0.0.1:9", token: t }\nrunner: { name: doc }\ndatabase: { kind: sqlite, path: "${makeSqliteFile(1)}" }\npolicy: { auditLog: "${auditLog}" }\n`);
    await runCommand(doctor, { rawArgs: ["-c", config, "--timeout", "500"] }).catch(() => {});
    return printed.join("\n");
  };

  it("passes when it can be opened for append, writing nothing into it", async () => {
    const log = join(dir, "logs", "audit.jsonl");
    expect(await checksFor(log)).toMatch(new RegExp(`ok\\s+audit\\s+${log} can be appended to`));
    expect(readFileSync(log, "utf8")).toBe("");
  });

  it("fails, saying why, when it cannot (here the path is a directory, which no user may append to)", async () => {
    const taken = join(dir, "audit.jsonl");
    mkdirSync(taken);
    const report = await checksFor(taken);
    expect(report).toMatch(/FAIL audit\s+.*audit.jsonl cannot be appended to \(every query would be refused\): EISDIR/);
    expect(report).not.toMatch(/All checks passed/);
  });
});
