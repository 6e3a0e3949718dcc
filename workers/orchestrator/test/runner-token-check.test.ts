import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runnerHubName, stubFor } from "../../../lib/do-names.js";
import { RUNNER_IDENTITY_HEADERS } from "../../../lib/protocol/runner-hub.js";
import { TENANT_SUSPENDED_CLOSE, TOKEN_REVOKED_CLOSE } from "../../../lib/protocol/runner.js";
import { FakeRunner } from "../../../test/support/fake-runner.js";
import { baseEnv, newTenant } from "./agent/helpers.js";

/** A tenant's runner connected straight to its hub with a real token row (as the gateway would let it in). */
async function connected(name = "warehouse") {
  const tenant = await newTenant();
  const tokenId = `rtk_${crypto.randomUUID()}`;
  await baseEnv.DB.prepare("INSERT INTO runner_tokens (id, tenant_id, runner_name, prefix, hash) VALUES (?, ?, ?, 'rt-cio-x', ?)")
    .bind(tokenId, tenant, name, crypto.randomUUID())
    .run();
  const hub = stubFor(baseEnv.RUNNER_HUBS, runnerHubName(tenant, name));
  const res = await hub.fetch("https://hub/connect", {
    headers: { upgrade: "websocket", [RUNNER_IDENTITY_HEADERS.tenant]: tenant, [RUNNER_IDENTITY_HEADERS.runner]: name, [RUNNER_IDENTITY_HEADERS.token]: tokenId },
  });
  return { tenant, tokenId, hub, runner: await FakeRunner.attach(res, name) };
}

async function closedWithin(runner: FakeRunner, ms = 3000) {
  const until = Date.now() + ms;
  while (!runner.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return runner.closed;
}

describe("the runner hub's token re-check", () => {
  it("drops a runner whose token was revoked without the admin API's disconnect reaching the hub", async () => {
    const { tokenId, hub, runner } = await connected();
    await runDurableObjectAlarm(hub);
    expect(runner.closed).toBeNull(); // a valid token stays connected through the sweep
    await baseEnv.DB.prepare("UPDATE runner_tokens SET revoked_at = ? WHERE id = ?").bind(Date.now(), tokenId).run();
    await runDurableObjectAlarm(hub);
    // Its own close code (not 1008): the runner must not tell its operator to check its name or version.
    expect(await closedWithin(runner)).toEqual({ code: TOKEN_REVOKED_CLOSE, reason: "the runner token was revoked" });
    expect((await hub.status("warehouse")).connections).toHaveLength(0);
  });

  it("drops the runners of a suspended tenant, and a token that is gone", async () => {
    const a = await connected();
    await baseEnv.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?").bind(a.tenant).run();
    await runDurableObjectAlarm(a.hub);
    expect(await closedWithin(a.runner)).toEqual({ code: TENANT_SUSPENDED_CLOSE, reason: "the tenant is suspended" });

    const b = await connected();
    await baseEnv.DB.prepare("DELETE FROM runner_tokens WHERE id = ?").bind(b.tokenId).run();
    await runDurableObjectAlarm(b.hub);
    expect(await closedWithin(b.runner)).toEqual({ code: TOKEN_REVOKED_CLOSE, reason: "the runner token was revoked" });
  });

  it("another tenant's token id does not keep a runner connected", async () => {
    const mine = await connected();
    const other = await connected();
    // The hub of `mine` asked about a token of `other`'s: only rows of the hub's own tenant count.
    await baseEnv.DB.prepare("UPDATE runner_tokens SET tenant_id = ? WHERE id = ?").bind(other.tenant, mine.tokenId).run();
    await runDurableObjectAlarm(mine.hub);
    expect(await closedWithin(mine.runner)).toEqual({ code: TOKEN_REVOKED_CLOSE, reason: "the runner token was revoked" });
    await runDurableObjectAlarm(other.hub);
    expect(other.runner.closed).toBeNull();
  });
});
