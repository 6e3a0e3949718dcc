/**
 * The command tree and the one place where a command's failure becomes a message and an exit code.
 * Commands are loaded lazily so `--help` does not load database drivers.
 */
import { defineCommand, runCommand, showUsage, type CommandDef } from "citty";
import { messageOf, redact, RunnerError } from "./errors.ts";
import { RUNNER_VERSION } from "./version.ts";

export const main = defineCommand({
  meta: { name: "cio-runner", version: RUNNER_VERSION, description: "Answer read-only SQL from CIO Edge over an outbound connection" },
  subCommands: {
    init: () => import("./commands/init.ts").then((m) => m.default),
    start: () => import("./commands/start.ts").then((m) => m.default),
    doctor: () => import("./commands/doctor.ts").then((m) => m.default),
    "install-service": () => import("./commands/install-service.ts").then((m) => m.default),
  },
});

/** Runs the CLI and returns the exit code. */
export async function runCli(rawArgs: string[]): Promise<number> {
  try {
    if (rawArgs.includes("--help") || rawArgs.includes("-h") || rawArgs.length === 0) {
      await showUsage(...(await subCommandFor(rawArgs)));
      return 0;
    }
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      console.log(RUNNER_VERSION);
      return 0;
    }
    await runCommand(main, { rawArgs });
    return 0;
  } catch (err) {
    if (err instanceof Error && err.name === "CLIError") await showUsage(...(await subCommandFor(rawArgs)));
    console.error(failureMessage(err));
    return 1;
  }
}

/**
 * The one line printed for a failed command. Only a redacted message, never the error object: its other
 * properties (Node's ERR_INVALID_URL keeps the whole URL in `input`) would reach the terminal and journald.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof RunnerError) return `cio-runner: ${redact(err.message)}`;
  if (err instanceof Error && err.name === "CLIError") return redact(err.message);
  return `cio-runner: unexpected error: ${messageOf(err)}`;
}

async function subCommandFor(rawArgs: string[]): Promise<[CommandDef, CommandDef?]> {
  const name = rawArgs.find((a) => !a.startsWith("-"));
  const loaders = main.subCommands as Record<string, () => Promise<CommandDef>>;
  const loader = name ? loaders[name] : undefined;
  return loader ? [await loader(), main] : [main];
}
