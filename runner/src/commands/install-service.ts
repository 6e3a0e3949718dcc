import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { configError } from "../errors.ts";
import { configArg, out } from "./_args.ts";
import { auditDirFor, DEFAULT_AUDIT_DIR } from "./_audit-log.ts";

export interface UnitValues {
  description: string;
  user: string;
  execStart: string;
  envFile: string;
  writablePaths: string[];
  /** "true" hides /home, /root and /run/user from the service; "read-only" when the runner's files are there. */
  protectHome: "true" | "read-only";
}

/** A hardened unit: the runner only needs to reach out, read its config and append to its audit log. */
export function systemdUnit(v: UnitValues): string {
  return `[Unit]
Description=${v.description}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${v.user}
EnvironmentFile=-${v.envFile}
ExecStart=${v.execStart}
Restart=always
RestartSec=5
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=${v.protectHome}
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectControlGroups=true
RestrictSUIDSGID=true
${v.writablePaths.map((p) => `ReadWritePaths=${p}`).join("\n")}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The command that runs this very CLI: this node and the entry script it was started with. Not this module's
 * own path: the build splits commands into chunks (dist/chunks/install-service-….js), and a chunk run as a
 * script does nothing and exits 0, which Restart=always repeats forever. The entry may be reached through
 * npm's bin symlink (/usr/bin/cio-runner → …/dist/cli.js); the real path keeps working if that link moves.
 */
export function defaultExec(argv: readonly string[] = process.argv, node = process.execPath): string {
  const entry = argv[1];
  if (!entry) throw configError("cannot tell which script started cio-runner; pass --exec");
  return `${node} ${realpathSync(entry)}`;
}

/** What ProtectHome=true makes invisible to the service. */
const HOMES = ["/home", "/root", "/run/user"];
const underHome = (path: string) => HOMES.some((h) => path === h || path.startsWith(`${h}/`));

/**
 * The files the unit must read that lie in a home directory: node or the CLI installed there (nvm, a
 * user-level npm prefix) or the config. ProtectHome=true hid them, and the unit failed to start (203/EXEC) or
 * to read its config, restarted every RestartSec for good; with such files the unit says read-only instead.
 */
export function filesInHomes(paths: string[]): string[] {
  return paths.flatMap((p) => p.split(" ")).filter((p) => p.startsWith("/") && underHome(p));
}

export default defineCommand({
  meta: { name: "install-service", description: "Write a systemd unit that runs `cio-runner start`" },
  args: {
    ...configArg,
    dir: { type: "string", description: "Directory to write the unit into", default: "/etc/systemd/system" },
    name: { type: "string", description: "Unit name (without .service)", default: "cio-runner" },
    user: { type: "string", description: "System user the runner runs as", default: "cio-runner" },
    "env-file": { type: "string", description: "File with CIO_RUNNER_TOKEN=… and other secrets", default: "/etc/cio-runner/env" },
    "audit-dir": { type: "string", description: `Directory the unit may write, holding the audit log (default: that of the config's policy.auditLog, else ${DEFAULT_AUDIT_DIR})` },
    exec: { type: "string", description: "Command that starts the runner (default: this node and this cio-runner)" },
    force: { type: "boolean", description: "Overwrite an existing unit", default: false },
  },
  run({ args }) {
    const path = join(resolve(args.dir), `${args.name}.service`);
    if (existsSync(path) && !args.force) throw configError(`${path} already exists; pass --force to overwrite it`);
    const exec = args.exec ?? defaultExec();
    const config = resolve(args.config);
    const auditDir = auditDirFor(config, args["audit-dir"]);
    const inHomes = filesInHomes([exec, config, args["env-file"]]);
    const unit = systemdUnit({
      description: `CIO Edge runner (${args.name})`,
      user: args.user,
      execStart: `${exec} start --config ${config}`,
      envFile: args["env-file"],
      writablePaths: [auditDir],
      protectHome: inHomes.length ? "read-only" : "true",
    });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit);
    out.print(`Wrote ${path}`);
    if (inHomes.length) {
      out.print(`Note: ${inHomes.join(", ")} ${inHomes.length > 1 ? "are" : "is"} in a home directory, so the unit reads home directories (ProtectHome=read-only).`);
      out.print(`User ${args.user} must be able to read ${inHomes.length > 1 ? "them" : "it"}; installing the runner globally (npm install -g) and keeping its config in /etc avoids both.`);
    }
    out.print(`The runner appends its audit log in ${auditDir}, which must exist and be writable by ${args.user}: mkdir -p ${auditDir} && chown ${args.user} ${auditDir}`);
    out.print(`Next: systemctl daemon-reload && systemctl enable --now ${args.name}`);
  },
});
