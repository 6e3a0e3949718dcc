import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { councilSettings } from "../../../durable-objects/council/settings.js";
import { dueForMeasurement } from "../src/councils/scheduled.js";
import { councilStub } from "../src/councils/rpc.js";
import { TRADING_ASSISTANTS } from "../../../durable-objects/council/trading/preset.js";
import type { ToolInput, ToolResult } from "../../../lib/protocol/tool.js";
import { create, ctx, DB, orch, patchEnv, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

describe("a trading council's market price", () => {
  it("one that came only on the paper order's retry is written to D1, where the outcome is measured from", async () => {
    const t = await tenant();
    const id = "late-price";
    // The ticker is down when the council opens (its evidence) and back when the paper order asks again.
    let tickers = 0;
    const down: ToolResult = { ok: false, error: { code: "unreachable", message: "market data is down (test)", retryable: true } };
    await patchEnv(t, id, ({ TOOL_MARKET_DATA: real }) => ({
      TOOL_MARKET_DATA: { manifest: () => real!.manifest(), execute: (x: ToolInput) => (x.args.kind === "ticker" && tickers++ === 0 ? Promise.resolve(down) : real!.execute(x)) },
    }));
    const question = scripted("Trade it, late?", TRADING_ASSISTANTS.map((a) => when(a.id, null, says("BUY"))));
    await create(t, { id, question, preset: "trading", symbol: "BTCUSDT" });
    const c = await settled(t, id, 20_000, (v) => v.paper_order != null);
    expect(tickers).toBe(2); // the opening's, then the paper order's
    const price = (c.paper_order as { price: number }).price;
    expect(c.paper_order).toMatchObject({ side: "BUY", status: "filled" });
    expect(price).toBeGreaterThan(0);
    expect(await rows("SELECT status, decision, ref_price FROM councils WHERE tenant_id = ? AND id = ?", t, id)).toEqual([{ status: "consensus", decision: "BUY", ref_price: price }]);
  });

  it("a human's decision is priced when it is made, not at the opening days before; its outcome is measured from there", async () => {
    const t = await tenant();
    const id = "human-price";
    // The market has moved since the opening: every ticker after the first says 70,000.
    let tickers = 0;
    await patchEnv(t, id, ({ TOOL_MARKET_DATA: real }) => ({
      TOOL_MARKET_DATA: {
        manifest: () => real!.manifest(),
        execute: async (x: ToolInput) => {
          const r = await real!.execute(x);
          if (x.args.kind !== "ticker" || tickers++ === 0 || !r.ok) return r;
          return { ...r, data: { ...(r.data as object), lastPrice: 70_000 } };
        },
      },
    }));
    // Split 3 to 2 under a 0.9 threshold, one round: the council escalates to the human.
    const question = scripted("Trade it, human?", TRADING_ASSISTANTS.map((a, i) => when(a.id, null, says(i < 3 ? "BUY" : "SELL"))));
    await create(t, { id, question, preset: "trading", symbol: "BTCUSDT", threshold: 0.9, max_rounds: 1 });
    await settled(t, id, 20_000, (v) => v.status === "awaiting_human");
    expect(await rows("SELECT ref_price FROM councils WHERE tenant_id = ? AND id = ?", t, id)).not.toEqual([{ ref_price: 70_000 }]);
    expect((await orch().councils({ ...ctx(t), action: "decide", councilId: id, body: { option: "BUY" } })).kind).toBe("ok");
    const c = await settled(t, id, 20_000, (v) => v.paper_order != null);
    expect(c.paper_order).toMatchObject({ side: "BUY", status: "filled", price: 70_000 });
    expect(await rows("SELECT ref_price FROM councils WHERE tenant_id = ? AND id = ?", t, id)).toEqual([{ ref_price: 70_000 }]);
  });

  it("a human's HOLD is priced when it is made too; one that finds no price is never measured from the opening's", async () => {
    const t = await tenant();
    // After each council's opening the market has moved (70,000) for the first, and is gone for the second.
    const down: ToolResult = { ok: false, error: { code: "unreachable", message: "market data is down (test)", retryable: true } };
    for (const id of ["human-hold", "human-no-price"]) {
      let tickers = 0;
      await patchEnv(t, id, ({ TOOL_MARKET_DATA: real }) => ({
        TOOL_MARKET_DATA: {
          manifest: () => real!.manifest(),
          execute: async (x: ToolInput) => {
            if (x.args.kind !== "ticker" || tickers++ === 0) return real!.execute(x);
            if (id === "human-no-price") return down;
            const r = await real!.execute(x);
            return r.ok ? { ...r, data: { ...(r.data as object), lastPrice: 70_000 } } : r;
          },
        },
      }));
    }
    const split = (q: string) => scripted(q, TRADING_ASSISTANTS.map((a, i) => when(a.id, null, says(i < 3 ? "BUY" : "SELL"))));
    const escalated = async (id: string, option: string) => {
      await create(t, { id, question: split(`Trade it, ${id}?`), preset: "trading", symbol: "BTCUSDT", threshold: 0.9, max_rounds: 1 });
      await settled(t, id, 20_000, (v) => v.status === "awaiting_human");
      expect((await orch().councils({ ...ctx(t), action: "decide", councilId: id, body: { option } })).kind).toBe("ok");
    };
    const refPrice = async (id: string) => (await rows<{ ref_price: number | null }>("SELECT ref_price FROM councils WHERE tenant_id = ? AND id = ?", t, id))[0]!.ref_price;

    await escalated("human-hold", "HOLD");
    const held = await settled(t, "human-hold", 20_000, (v) => v.paper_order != null);
    expect(held.paper_order).toMatchObject({ side: "HOLD", status: "none" });
    expect(await refPrice("human-hold")).toBe(70_000);

    await escalated("human-no-price", "BUY");
    expect(await refPrice("human-no-price")).not.toBeNull(); // the opening's, until the decision is priced
    const stub = councilStub(env as never, t, "human-no-price");
    let view = await settled(t, "human-no-price", 1_000, () => true);
    for (let i = 0; i < 30 && !view.paper_order; i++) {
      await runDurableObjectAlarm(stub); // the tries back off; the alarm runs them at once
      view = await settled(t, "human-no-price", 1_000, () => true);
    }
    expect(view.paper_order).toMatchObject({ side: "BUY", status: "rejected", price: 0, reason: "no market price for BTCUSDT after 8 tries" });
    // Not measured at all rather than from a price days before the decision.
    expect(await refPrice("human-no-price")).toBeNull();
    const due = await dueForMeasurement(DB(), councilSettings(env as never), Date.now() + 365 * 86_400_000);
    expect(due.filter((c) => c.tenantId === t).map((c) => c.id)).toEqual(["human-hold"]);
  });
});

