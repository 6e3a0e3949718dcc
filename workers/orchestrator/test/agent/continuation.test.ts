import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../../../lib/protocol/index.js";
import { restoreTurns, saveTurn } from "../../src/agent/continuation.js";
import { baseEnv, keyOf, newTenant } from "./helpers.js";

const echo = (id: string): ChatMessage => ({ role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "client_fn", arguments: "{}" } }] });
const result = (id: string): ChatMessage => ({ role: "tool", tool_call_id: id, content: "done" });

describe("kept turns of client tool calls", () => {
  it("are found in a conversation of hundreds of client tool rounds (D1 binds at most 100 parameters a statement)", async () => {
    const tenantId = await newTenant();
    const k = { tenantId, keyId: keyOf(tenantId), requestId: "r-long", ttlMs: 60_000 };
    // The last round's turn held our own tool call and its result before the client's call.
    const ours: ChatMessage[] = [
      { role: "assistant", content: null, tool_calls: [{ id: "own-1", type: "function", function: { name: "sql", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "own-1", content: "rows" },
      echo("c-249"),
    ];
    await saveTurn(baseEnv.DB, k, ours, [{ id: "c-249", name: "client_fn", arguments: "{}" }]);
    const history: ChatMessage[] = [{ role: "user", content: "go" }, ...Array.from({ length: 250 }, (_, i) => [echo(`c-${i}`), result(`c-${i}`)]).flat()];
    const restored = await restoreTurns(baseEnv.DB, k, history);
    expect(restored.length).toBe(history.length + 2);
    expect(restored.at(-4)).toMatchObject({ tool_calls: [{ id: "own-1" }] });
  });
});
