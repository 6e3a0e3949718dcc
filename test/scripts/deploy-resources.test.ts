/**
 * The account-side steps of `npm run deploy`, against a stand-in for wrangler that keeps an account in
 * memory (no Cloudflare account here): resources are created once, a second run changes nothing, and the
 * D1 id ends up in every config that binds the database.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const fake = vi.hoisted(() => ({ root: "", calls: [] as string[], account: { d1: new Map<string, string>(), queues: new Set<string>(), buckets: new Set<string>() }, offline: false }));

vi.mock("../../scripts/lib/local-stack.ts", () => ({
  get ROOT() {
    return fake.root;
  },
  wrangler: (args: string[]) => {
    fake.calls.push(args.join(" "));
    if (fake.offline) throw new Error(`wrangler ${args.join(" ")} failed:\nfetch failed`);
    return runFake(args);
  },
}));

/** Cloudflare's answers as wrangler prints them: a create of an existing resource fails. */
function runFake(args: string[]): string {
  const { d1, queues, buckets } = fake.account;
  const cmd = args.slice(0, args[0] === "r2" ? 3 : 2).join(" ");
  const name = args[args[0] === "r2" ? 3 : 2]!;
  const fail = (msg: string) => {
    throw new Error(`wrangler ${args.join(" ")} failed:\n${msg}`);
  };
  switch (cmd) {
    case "d1 list":
      return JSON.stringify([...d1].map(([n, uuid]) => ({ uuid, name: n })));
    case "d1 create":
      d1.set(name, `11111111-2222-4333-8444-${String(d1.size).padStart(12, "0")}`);
      return "";
    case "queues create":
      return queues.has(name) ? fail("A request to the Cloudflare API failed. Queue name is not unique [code: 11009]") : (queues.add(name), "");
    case "queues info":
      return queues.has(name) ? "" : fail(`Queue "${name}" does not exist.`);
    case "r2 bucket create":
      return buckets.has(name) ? fail("The bucket you tried to create already exists, and you own it. [code: 10004]") : (buckets.add(name), "");
    case "r2 bucket info":
      return buckets.has(name) ? "" : fail("The specified bucket does not exist. [code: 10006]");
  }
  return fail(`unexpected command ${cmd}`);
}

const { deployConfigs, deployOrder, deployPlan, readWorker } = await import("../../scripts/lib/deploy-plan.ts");
const { ensureBucket, ensureQueue, syncDatabaseIds } = await import("../../scripts/lib/deploy-resources.ts");
const { deployableConfig, DEPLOY_COPY } = await import("../../scripts/lib/deploy-ai.ts");
const { unstable_readConfig } = await import("wrangler");
const REPO = resolve(import.meta.dirname, "../..");
const D1_CONFIGS = ["wrangler.toml", "workers/orchestrator/wrangler.toml", "queues/heavy/wrangler.toml"];
const TOOL_CONFIGS = ["http-json", "market-data", "media", "technical-analysis", "web-search"].map((t) => `workers/tools/${t}/wrangler.toml`);

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  fake.root = mkdtempSync(join(tmpdir(), "cio-deploy-"));
  for (const c of D1_CONFIGS) cpSync(join(REPO, c), join(fake.root, c));
  fake.calls = [];
  fake.account = { d1: new Map(), queues: new Set(), buckets: new Set() };
  fake.offline = false;
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(fake.root, { recursive: true, force: true });
});

const idsIn = (config: string) => [...readFileSync(join(fake.root, config), "utf8").matchAll(/^database_id = "(.*)"$/gm)].map((m) => m[1]);

describe("deploy's account steps", () => {
  it("creates the D1 database on a fresh account and writes its one id into every config that binds it", () => {
    syncDatabaseIds(deployOrder(deployConfigs().map(readWorker)));
    const id = fake.account.d1.get("cio-edge")!;
    expect(id).toBeDefined();
    for (const c of D1_CONFIGS) expect(idsIn(c), c).toEqual([id]);
    const again = fake.calls.length;
    syncDatabaseIds(deployOrder(deployConfigs().map(readWorker)));
    expect(fake.calls.slice(again)).toEqual(["d1 list --json"]);
  });

  it("uses the existing database's id, also where one config still holds the placeholder", () => {
    const id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    fake.account.d1.set("cio-edge", id);
    // What following the old README left: the id in two configs, the placeholder in the heavy consumer's.
    for (const c of D1_CONFIGS.slice(0, 2)) writeFileSync(join(fake.root, c), readFileSync(join(fake.root, c), "utf8").replace(/^database_id = ".*"$/m, `database_id = "${id}"`));
    const log = vi.spyOn(console, "log");
    syncDatabaseIds(deployOrder(deployConfigs().map(readWorker)));
    expect(fake.calls).not.toContain("d1 create cio-edge");
    for (const c of D1_CONFIGS) expect(idsIn(c), c).toEqual([id]);
    expect(log.mock.calls.flat().filter((l) => String(l).startsWith("wrote"))).toEqual([`wrote D1 id ${id} of cio-edge into queues/heavy/wrangler.toml`]);
  });

  it("creates queues and buckets once and takes an existing one as done, whatever the error says", () => {
    for (let run = 0; run < 2; run++) {
      ["heavy", "heavy-dlq"].forEach(ensureQueue);
      ["cio-files"].forEach(ensureBucket);
    }
    expect(fake.account.queues).toEqual(new Set(["heavy", "heavy-dlq"]));
    expect(fake.account.buckets).toEqual(new Set(["cio-files"]));
    expect(fake.calls).toContain("queues info heavy");
    expect(fake.calls).not.toContain("r2 bucket info cio-files");
  });

  it("fails when a resource cannot be created and does not exist", () => {
    fake.offline = true;
    expect(() => ensureQueue("heavy")).toThrow("fetch failed");
    expect(() => ensureBucket("cio-files")).toThrow("fetch failed");
  });
});

describe("deploy's Workers AI binding", () => {
  it("deploys the orchestrator and the heavy consumer from a copy with the AI binding, the rest as they are", () => {
    for (const config of ["workers/orchestrator/wrangler.toml", "queues/heavy/wrangler.toml"]) {
      const deployed = deployableConfig(config, true);
      expect(deployed).toBe(config.replace("wrangler.toml", DEPLOY_COPY));
      const original = unstable_readConfig({ config: join(fake.root, config) });
      const copy = unstable_readConfig({ config: join(fake.root, deployed) });
      expect(original.ai).toBeUndefined(); // the checked-in config runs offline under wrangler dev
      expect(copy.ai).toMatchObject({ binding: "AI" });
      // Besides, the orchestrator's copy binds the media tool (checked below).
      const services = copy.services.filter((s: { binding: string }) => s.binding !== "TOOL_MEDIA");
      expect({ ...copy, ai: undefined, services, configPath: undefined, userConfigPath: undefined, topLevelName: undefined }).toEqual({
        ...original, ai: undefined, configPath: undefined, userConfigPath: undefined, topLevelName: undefined,
      });
    }
    expect(deployableConfig("wrangler.toml", true)).toBe("wrangler.toml");
    expect(deployableConfig("queues/heavy/wrangler.toml", false)).toBe("queues/heavy/wrangler.toml");
  });
});

describe("deploy's plan, read from what wrangler deploy is given", () => {
  beforeEach(() => {
    for (const c of TOOL_CONFIGS) cpSync(join(REPO, c), join(fake.root, c));
  });
  const position = (plan: { name: string }[], name: string) => plan.findIndex((w) => w.name === name);

  it.each([true, false])("binds the media tool to the orchestrator and deploys it first (ai: %s)", (ai) => {
    const plan = deployPlan(ai);
    const orchestrator = plan.find((w) => w.name === "cio-orchestrator")!;
    expect(orchestrator.config).toBe("workers/orchestrator/wrangler.toml"); // the D1 id is written there
    expect(orchestrator.needs).toContain("cio-tool-media");
    expect(position(plan, "cio-tool-media")).toBeGreaterThanOrEqual(0);
    expect(position(plan, "cio-tool-media")).toBeLessThan(position(plan, "cio-orchestrator"));
    for (const w of plan) for (const target of w.needs) if (position(plan, target) >= 0) expect(position(plan, target), `${w.name} binds ${target}`).toBeLessThan(position(plan, w.name));

    const copy = unstable_readConfig({ config: join(fake.root, deployableConfig("workers/orchestrator/wrangler.toml", ai)) });
    expect(copy.services).toContainEqual(expect.objectContaining({ binding: "TOOL_MEDIA", service: "cio-tool-media" }));
    expect(copy.ai).toEqual(ai ? expect.objectContaining({ binding: "AI" }) : undefined);
    // The checked-in config stays runnable offline: `npm start` does not run the media tool without an account.
    expect(unstable_readConfig({ config: join(fake.root, "workers/orchestrator/wrangler.toml") }).services.map((s: { binding: string }) => s.binding)).not.toContain("TOOL_MEDIA");
  });

  it("writes the D1 id into the checked-in config, and the copy deployed afterwards carries it", () => {
    const plan = deployPlan(true);
    syncDatabaseIds(plan);
    const id = fake.account.d1.get("cio-edge")!;
    const copy = deployableConfig("workers/orchestrator/wrangler.toml", true);
    expect(idsIn(copy)).toEqual([id]);
  });
});
