import { describe, expect, it, vi } from "vitest";
import { Logger } from "../../../../lib/log.js";
import { seedRegistry, servedToolNames } from "../../src/registry/seed.js";
import { baseEnv } from "./helpers.js";

const row = (name: string) => baseEnv.DB.prepare("SELECT transport, target, enabled, public FROM tools WHERE name = ?").bind(name).first();
const put = (name: string, transport: string, target: string, enabled: boolean, isPublic: boolean) =>
  baseEnv.DB.prepare("INSERT OR REPLACE INTO tools (name, transport, target, manifest, enabled, public) VALUES (?, ?, ?, '{}', ?, ?)")
    .bind(name, transport, target, Number(enabled), Number(isPublic))
    .run();

describe("seeding the registry from the bindings", () => {
  it("names every tool the deployment serves, bound or local, without reading the registry", async () => {
    expect(await servedToolNames(baseEnv, new Logger({ component: "test" }, "error"))).toEqual(
      expect.arrayContaining(["market-data", "web-search", "http-json", "technical-analysis", "sql", "analyze_file"]),
    );
  });

  it("takes back a name an HTTPS tool held with the built-in's defaults, and says so at error level; an operator's choices for the built-in survive", async () => {
    // Registered before the admin API asked the orchestrator (or while the Worker did not answer): private, switched off.
    await put("technical-analysis", "https", "https://tools.example.com/ta", false, false);
    // The operator made this built-in private: a re-seed must not undo that.
    await put("web-search", "rpc", "TOOL_WEB_SEARCH", true, false);
    const log = new Logger({ component: "test" }, "error");
    const errors = vi.spyOn(log, "error");
    await seedRegistry(baseEnv, log);
    expect(await row("technical-analysis")).toMatchObject({ transport: "rpc", target: "TOOL_TECHNICAL_ANALYSIS", enabled: 1, public: 1 });
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]![1]).toEqual({ tool: "technical-analysis", url: "https://tools.example.com/ta" });
    expect(await row("web-search")).toMatchObject({ transport: "rpc", public: 0 });

    await seedRegistry(baseEnv, log); // once taken back, a re-seed has nothing to say
    expect(errors).toHaveBeenCalledTimes(1);
  });
});
