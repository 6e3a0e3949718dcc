/**
 * Reads, validates and resolves the config file: secrets named by `tokenEnv` / `urlEnv` are read from the
 * environment here, once, and never written back anywhere.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import type { DatabaseConfig } from "../drivers/types.ts";
import { configError, messageOf } from "../errors.ts";
import { ConfigSchema, type Config } from "./schema.ts";

export interface ResolvedConfig extends Config {
  token: string;
  db: DatabaseConfig;
}

export const DEFAULT_CONFIG_PATH = "cio-runner.yaml";

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  return resolveConfig(readConfig(path), env);
}

/** The config file validated, its secrets not yet read: for what needs the file only (install-service). */
export function readConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw configError(`cannot read config ${path}: ${messageOf(err)} (create one with \`cio-runner init\`)`);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, path = "config"): Config {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw configError(`${path} is not valid YAML: ${messageOf(err)}`);
  }
  const r = ConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw configError(`${path} is not a valid runner config:\n${z.prettifyError(r.error)}`);
  return r.data;
}

export function resolveConfig(config: Config, env: NodeJS.ProcessEnv): ResolvedConfig {
  const token = config.cloud.token ?? fromEnv(env, config.cloud.tokenEnv, "cloud.tokenEnv");
  const { kind, path } = config.database;
  const url = kind === "sqlite" ? undefined : (config.database.url ?? fromEnv(env, config.database.urlEnv, "database.urlEnv"));
  return { ...config, token, db: { kind, url, path } };
}

function fromEnv(env: NodeJS.ProcessEnv, name: string | undefined, key: string): string {
  const value = name ? env[name] : undefined;
  if (!value) throw configError(`${key} names ${name ?? "nothing"}, but that environment variable is not set`);
  return value;
}
