/**
 * The unit's ExecStart must start the CLI itself. Only the built package shows the difference: the build
 * splits commands into chunks, and a chunk's path as ExecStart starts nothing (exit 0, restarted forever).
 * So these tests build runner/dist (well under a second) and run it as an operator does, both as
 * `node dist/cli.js` and through a bin symlink like the one `npm i -g` makes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNNER_VERSION } from "../version.ts";
import { defaultExec, filesInHomes } from "./install-service.ts";

const RUNNER = resolve(import.meta.dirname, "../..");
const CLI = join(RUNNER, "dist/cli.js");
// The bin symlink runs through `#!/usr/bin/env node`: this node goes first on PATH.
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };

let dir: string;
beforeAll(() => {
  execFileSync(process.execPath, [join(RUNNER, "build.mjs")], { stdio: "ignore" });
  dir = mkdtempSync(join(tmpdir(), "cio-unit-"));
});

/** Runs `install-service` with `command` (argv) and returns the words of the unit's ExecStart. */
function execStartWrittenBy(command: string[], unitDir: string): string[] {
  execFileSync(command[0]!, [...command.slice(1), "install-service", "--dir", unitDir, "-c", join(dir, "runner.yaml")], { env: ENV });
  const line = readFileSync(join(unitDir, "cio-runner.service"), "utf8").match(/^ExecStart=(.*)$/m);
  return line![1]!.split(" ");
}

/** Runs the ExecStart's program and arguments plus `extra`, as systemd would, and returns what it printed. */
const runAs = (words: string[], extra: string[]) => execFileSync(words[0]!, [...words.slice(1), ...extra], { encoding: "utf8", env: ENV });

describe("install-service, run from the built package", () => {
  it("names dist/cli.js in ExecStart, and that command is the CLI", () => {
    const words = execStartWrittenBy([process.execPath, CLI], join(dir, "direct"));
    expect(words).toEqual([process.execPath, CLI, "start", "--config", join(dir, "runner.yaml")]);
    expect(runAs(words.slice(0, 2), ["--version"]).trim()).toBe(RUNNER_VERSION);
    expect(runAs(words, ["--help"])).toContain("cio-runner start");
  });

  it("names the real dist/cli.js when started through npm's bin symlink", () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(CLI, join(bin, "cio-runner"));
    const words = execStartWrittenBy([join(bin, "cio-runner")], join(dir, "via-bin"));
    expect(words.slice(0, 2)).toEqual([process.execPath, CLI]);
    expect(runAs(words, ["--help"])).toContain("cio-runner start");
  });
});

describe("defaultExec", () => {
  it("is this node and the real path of the entry script, and asks for --exec when there is none", () => {
    expect(defaultExec(["node", CLI], "/usr/bin/node")).toBe(`/usr/bin/node ${CLI}`);
    expect(() => defaultExec(["node"])).toThrow(/--exec/);
  });
});

describe("home directories (ProtectHome)", () => {
  const unitFor = (config: string, unitDir: string) => {
    const printed = execFileSync(process.execPath, [CLI, "install-service", "--dir", unitDir, "-c", config], { encoding: "utf8", env: ENV });
    return { printed, unit: readFileSync(join(unitDir, "cio-runner.service"), "utf8") };
  };

  it("hides them when nothing the unit reads lies there", () => {
    expect(unitFor(join(dir, "runner.yaml"), join(dir, "nohome")).unit).toMatch(/^ProtectHome=true$/m);
  });

  it("lets the unit read them, and says so, when its config (or node, or the CLI) lies in one", () => {
    const { unit, printed } = unitFor("/home/ops/runner.yaml", join(dir, "home"));
    expect(unit).toMatch(/^ProtectHome=read-only$/m);
    expect(printed).toContain("/home/ops/runner.yaml is in a home directory");
    expect(filesInHomes(["/root/.nvm/versions/node/v22/bin/node /usr/lib/cio-runner/dist/cli.js", "/etc/cio-runner/runner.yaml", "/homeless/x"])).toEqual([
      "/root/.nvm/versions/node/v22/bin/node",
    ]);
  });
});

