/**
 * Where the runner's audit log is written, for the commands that prepare and check a runner: every query is
 * refused when its audit line cannot be appended, so a log the service may not write is a runner that answers
 * nothing.
 */
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { readConfig } from "../config/load.ts";
import { configError, messageOf } from "../errors.ts";
import type { Check } from "./_cloud-check.ts";

export const DEFAULT_AUDIT_DIR = "/var/log/cio-runner";

const isWithin = (path: string, dir: string) => relative(dir, path).split(sep)[0] !== "..";

/**
 * The directory the systemd unit must leave writable: that of the config's policy.auditLog when the config
 * exists and names one (systemd starts the service in /, so a relative path is taken from there), else
 * `given` (--audit-dir) or the default. The unit runs under ProtectSystem=strict: a log outside its one
 * writable directory was read-only, and the runner refused every query. An --audit-dir that does not hold
 * the config's log is refused rather than written into a unit that cannot work.
 */
export function auditDirFor(configPath: string, given: string | undefined): string {
  const auditLog = existsSync(configPath) ? readConfig(configPath).policy.auditLog : undefined;
  if (auditLog === undefined) return given ?? DEFAULT_AUDIT_DIR;
  const dir = dirname(resolve("/", auditLog));
  if (given === undefined) return dir;
  if (!isWithin(dir, resolve("/", given))) {
    throw configError(`--audit-dir ${given} does not hold the audit log ${auditLog} that ${configPath} names (policy.auditLog): the runner could not write it and would refuse every query; leave --audit-dir out or make the two agree`);
  }
  return given;
}

/** Doctor's check that the audit log can be appended to, opening it for append and writing nothing. */
export function auditCheck(auditLog: string | undefined): Check {
  if (auditLog === undefined) return { name: "audit", ok: true, detail: "no policy.auditLog: requests are not logged on this server" };
  try {
    mkdirSync(dirname(auditLog), { recursive: true });
    closeSync(openSync(auditLog, "a"));
    return { name: "audit", ok: true, detail: `${auditLog} can be appended to` };
  } catch (err) {
    return { name: "audit", ok: false, detail: `${auditLog} cannot be appended to (every query would be refused): ${messageOf(err)}` };
  }
}
