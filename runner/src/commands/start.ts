import { defineCommand } from "citty";
import { RunnerClient } from "../client/connection.ts";
import { loadConfig } from "../config/load.ts";
import { configError } from "../errors.ts";
import { createRuntime } from "../runtime.ts";
import { configArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "start", description: "Connect to the cloud and answer queries until stopped (SIGINT/SIGTERM)" },
  args: { ...configArg },
  async run({ args }) {
    const config = loadConfig(args.config);
    const { driver, policy, audit, log } = await createRuntime(config);
    const problems = policy.problems();
    if (problems.length) throw configError(`the policy is invalid:\n  ${problems.join("\n  ")}`);
    const client = new RunnerClient({
      cloudUrl: config.cloud.url,
      token: config.token,
      runnerName: config.runner.name,
      driver,
      policy,
      audit,
      log: log.child({ component: "connection" }),
      ...config.connection,
    });
    client.start();
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    log.info("stopping");
    // In this order: stop() returns once the cancelled queries have ended (at most stopGraceMs), and a driver
    // closed under a running query could lose its cancel and wait for the statement instead.
    await client.stop();
    await driver.close();
  },
});
