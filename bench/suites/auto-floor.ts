/**
 * The floor under the auto suite: a bare Worker, served like our stack, that makes the same three calls
 * a one-tool cio/auto answer makes — model, signed HTTPS tool, model — with nothing else. What it takes
 * beyond the mock's fixed latencies is what the runtime's hops cost on this machine (client → workerd,
 * workerd → mock three times and back); what our stack takes beyond the floor is ours.
 */
import { startBareWorker } from "../../scripts/lib/miniflare-stack.ts";

const SCRIPT = `
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
async function hmac(secret, text) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}
// As the orchestrator signs: with the tool's own secret, derived from the shared one (lib/tools/signature.ts).
async function sign(secret, tool, body) {
  const ts = String(Math.floor(Date.now() / 1000));
  return { "x-cio-timestamp": ts, "x-cio-signature": await hmac(await hmac(secret, "cio-tool:" + tool), ts + "." + body) };
}
const post = async (url, body, headers = {}) => (await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })).json();
export default {
  async fetch(req, env) {
    const ask = await req.json();
    const model = env.ORIGIN + "/v1/chat/completions";
    const first = await post(model, JSON.stringify({ model: "mock-model", messages: ask.messages }));
    const call = first.choices[0].message.tool_calls[0];
    const input = JSON.stringify({ args: JSON.parse(call.function.arguments), tenantId: "floor", requestId: "floor", deadline: Date.now() + 5000 });
    const result = await post(env.ORIGIN + "/tools/" + call.function.name + "/execute", input, await sign(env.SECRET, call.function.name, input));
    const messages = [...ask.messages, first.choices[0].message, { role: "tool", tool_call_id: call.id, content: result.content }];
    return Response.json(await post(model, JSON.stringify({ model: "mock-model", messages })));
  },
};`;

export const startAutoFloor = (port: number, origin: string, secret: string) => startBareWorker(port, SCRIPT, { ORIGIN: origin, SECRET: secret });
