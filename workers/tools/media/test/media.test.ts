import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import MediaTool from "../src/index.js";
import type { Env } from "../src/settings.js";
import flux from "../../../../test/support/ai-mock/flux-1-schnell.json";

const tool = defaultTool(exports);
const testEnv = env as Env;
const base = inject("upstreamUrl");
const toolWith = (overrides: Partial<Env>) => new MediaTool(createExecutionContext(), { ...testEnv, ...overrides });

describe("manifest", () => {
  it("offers both actions", async () => {
    const m = await validManifest(tool);
    expect(m.name).toBe("media");
    const props = m.parameters.properties as Record<string, { enum?: string[] }>;
    expect(props.action?.enum).toEqual(["generate-image", "transcribe"]);
  });

  it("declares what a call spends, a picture's MEDIA_IMAGE_TOKENS, for the orchestrator to hold against the tenant's budget", async () => {
    expect((await validManifest(tool)).spends).toEqual({ tokens: 1000 });
    expect(toolWith({ MEDIA_IMAGE_TOKENS: "700" }).manifest().spends).toEqual({ tokens: 700 });
  });
});

describe("generate-image", () => {
  it("stores the model's JPEG in R2 under the tenant and answers its public URL", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "generate-image", prompt: "a lighthouse at dusk" })));
    const data = r.data as { url: string; key: string; contentType: string };
    expect(data.key).toMatch(/^media\/t_test\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.jpg$/);
    expect(data.url).toBe(`https://media.cio.test/${data.key}`);
    expect(r.content).toBe(`Generated an image for "a lighthouse at dusk": ${data.url}`);
    const object = await testEnv.MEDIA_BUCKET.get(data.key);
    expect(object?.httpMetadata?.contentType).toBe("image/jpeg");
    expect(object?.customMetadata).toMatchObject({ tenantId: "t_test", requestId: "req_test", prompt: "a lighthouse at dusk" });
    const stored = new Uint8Array(await (object as R2ObjectBody).arrayBuffer());
    expect(stored).toEqual(Uint8Array.from(atob(flux.image), (c) => c.charCodeAt(0)));
  });

  it("reports the picture as spent, MEDIA_IMAGE_TOKENS plus its prompt's, for the orchestrator to book to the tenant", async () => {
    // "a lighthouse at dusk": 20 characters, 5 tokens.
    const r = expectOk(await toolWith({ MEDIA_IMAGE_TOKENS: "700" }).execute(toolInput({ action: "generate-image", prompt: "a lighthouse at dusk" })));
    expect(r.usage).toEqual({ model: "@cf/black-forest-labs/flux-1-schnell", prompt_tokens: 5, completion_tokens: 700 });
  });

  it("stores a PNG stream (SDXL-style output) as image/png", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "generate-image", prompt: "png logo", steps: 8 })));
    expect(r.data).toMatchObject({ contentType: "image/png" });
    expect((r.data as { key: string }).key).toMatch(/\.png$/);
  });

  it("tries a failed R2 write again itself, with the image in hand, instead of asking for a new (paid) generation", async () => {
    const ai = counting(testEnv.AI);
    const bucket = flaky(testEnv.MEDIA_BUCKET, 1);
    const r = expectOk(await toolWith({ AI: ai.runner, MEDIA_BUCKET: bucket.bucket }).execute(toolInput({ action: "generate-image", prompt: "a lighthouse" })));
    expect([ai.runs(), bucket.puts()]).toEqual([1, 2]);
    expect(await testEnv.MEDIA_BUCKET.head((r.data as { key: string }).key)).not.toBeNull();
  });

  it("after its own retries, fails a write R2 keeps refusing as final: no retry of the call may generate again", async () => {
    const ai = counting(testEnv.AI);
    const bucket = flaky(testEnv.MEDIA_BUCKET, Infinity);
    const e = expectFail(await toolWith({ AI: ai.runner, MEDIA_BUCKET: bucket.bucket }).execute(toolInput({ action: "generate-image", prompt: "a lighthouse" })));
    expect(e).toMatchObject({ code: "storage_error", retryable: false, message: expect.stringContaining("(3 attempts)") });
    expect([ai.runs(), bucket.puts()]).toEqual([1, 3]);
  });

  it("reports a picture the model drew as spent even when the call then fails, and nothing when the model drew none", async () => {
    const bucket = flaky(testEnv.MEDIA_BUCKET, Infinity);
    const stored = await toolWith({ MEDIA_BUCKET: bucket.bucket }).execute(toolInput({ action: "generate-image", prompt: "a lighthouse" }));
    expect(stored).toMatchObject({ ok: false, usage: { completion_tokens: 1000 } });
    const refused = await tool.execute(toolInput({ action: "generate-image", prompt: "something forbidden" }));
    expect(refused).toMatchObject({ ok: false });
    expect(refused.usage).toBeUndefined();
  });

  it("fails clearly when no public base URL is configured", async () => {
    const media = toolWith({ MEDIA_PUBLIC_BASE_URL: "" });
    const e = expectFail(await media.execute(toolInput({ action: "generate-image", prompt: "a cat" })));
    expect(e).toMatchObject({ code: "not_configured", retryable: false });
  });

  it("maps Workers AI capacity errors to retryable", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "generate-image", prompt: "over capacity" })));
    expect(e).toMatchObject({ code: "ai_error", retryable: true });
    expect(e.message).toContain("3040");
  });

  it("maps a refused prompt to non-retryable", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "generate-image", prompt: "something forbidden" })));
    expect(e).toMatchObject({ code: "ai_error", retryable: false });
  });

  it("maps an unknown model to non-retryable", async () => {
    const media = toolWith({ MEDIA_IMAGE_MODEL: "@cf/nobody/no-such-model" });
    const e = expectFail(await media.execute(toolInput({ action: "generate-image", prompt: "a cat" })));
    expect(e).toMatchObject({ code: "ai_error", retryable: false });
    expect(e.message).toContain("5007");
  });

  it("gives up at the deadline while the model is still working", async () => {
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ action: "generate-image", prompt: "slow painting" }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});

describe("transcribe", () => {
  const wavBase64 = async () => {
    const res = await fetch(`${base}/audio/hello.wav`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  };

  it("transcribes base64 audio", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "transcribe", audioBase64: await wavBase64() })));
    expect(r.content).toBe("Transcript: Hello from CIO Edge, this is a test recording.");
    expect(r.data).toMatchObject({ wordCount: 9, model: "@cf/openai/whisper", audioBytes: 1644 });
    // Whisper reports no usage: the transcript's 46 characters count as 12 tokens.
    expect(r.usage).toEqual({ model: "@cf/openai/whisper", prompt_tokens: 0, completion_tokens: 12 });
  });

  it("transcribes audio from a URL", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/hello.wav` })));
    expect(r.content).toBe("Transcript: Hello from CIO Edge, this is a test recording.");
  });

  it("says so when there is no speech", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "transcribe", audioBase64: btoa("not a wav file") })));
    expect(r.content).toBe("The audio contains no recognisable speech.");
  });

  it.each([
    ["/audio/missing.wav", "audio_unavailable", false],
    ["/audio/busy.wav", "audio_unavailable", true],
    ["/audio/huge.wav", "audio_too_large", false],
  ])("maps %s to %s", async (path, code, retryable) => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}${path}` })));
    expect(e).toMatchObject({ code, retryable });
  });

  it("refuses oversized base64 before decoding it", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioBase64: "A".repeat(400_000) })));
    expect(e).toMatchObject({ code: "audio_too_large" });
  });

  it("refuses base64 that is not base64", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioBase64: "%%%not base64%%%" })));
    expect(e).toMatchObject({ code: "invalid_audio", retryable: false });
  });

  it("cuts off a slow audio download at the deadline", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/slow.wav` }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
  });

  it("refuses more than MEDIA_MAX_AUDIO_BYTES' default of 4 MB, which whisper's number array can afford", async () => {
    const media = toolWith({ MEDIA_MAX_AUDIO_BYTES: undefined });
    const e = expectFail(await media.execute(toolInput({ action: "transcribe", audioBase64: "A".repeat(5_400_000) })));
    expect(e).toMatchObject({ code: "audio_too_large", message: "the audio is larger than 4000000 bytes" });
  });
});

describe("audio URLs", () => {
  // The recorded route serves the audio only to cio-edge-media/<version>, as servers that want a User-Agent do.
  it("names the tool and its version in the User-Agent", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/agent-required.wav` })));
    expect(r.content).toBe("Transcript: Hello from CIO Edge, this is a test recording.");
  });

  it("passes on why the server refused the audio", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/missing.wav` })));
    expect(e).toMatchObject({ code: "audio_unavailable", message: "fetching the audio failed with HTTP 404: Not Found" });
  });

  it("follows a redirect that stays inside MEDIA_AUDIO_ALLOW", async () => {
    const r = expectOk(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/moved.wav` })));
    expect(r.content).toBe("Transcript: Hello from CIO Edge, this is a test recording.");
  });

  it.each([
    ["a URL outside the allow-list", "/private/secret.wav", "is not in the allow-list"],
    ["a redirect to 127.0.0.1", "/audio/to-localhost.wav", "http://127.0.0.1/admin is not in the allow-list"],
    ["a dot segment that servers resolve after stripping ;params", "/audio/..;/private/secret.wav", "dot segment"],
  ])("refuses %s", async (_, path, message) => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}${path}` })));
    expect(e).toMatchObject({ code: "not_allowed", retryable: false });
    expect(e.message).toContain(message);
  });

  it("stops after a few redirects", async () => {
    const e = expectFail(await tool.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/loop.wav` })));
    expect(e).toMatchObject({ code: "too_many_redirects", retryable: false });
  });

  it("refuses every URL when MEDIA_AUDIO_ALLOW is empty", async () => {
    const media = toolWith({ MEDIA_AUDIO_ALLOW: "" });
    const e = expectFail(await media.execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/hello.wav` })));
    expect(e).toMatchObject({ code: "not_allowed", message: "no URL is allowed: the operator has not set MEDIA_AUDIO_ALLOW" });
  });

  it("stops reading a chunked body without a length at the limit instead of buffering it", async () => {
    const chunk = new Uint8Array(16_384);
    let sent = 0;
    // 50 MB in chunks, no Content-Length: only counting while reading notices it is too large in time.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 50_000_000) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const spy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(body));
    try {
      const e = expectFail(await toolWith({}).execute(toolInput({ action: "transcribe", audioUrl: `${base}/audio/endless.wav` })));
      expect(e).toMatchObject({ code: "audio_too_large", retryable: false });
      expect(sent).toBeLessThan(200_000 + 4 * chunk.byteLength);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("argument validation", () => {
  it.each([
    [{}, "action"],
    [{ action: "generate-video", prompt: "x" }, "action"],
    [{ action: "generate-image" }, "generate-image needs a prompt"],
    [{ action: "generate-image", prompt: "x", steps: 20 }, "steps"],
    [{ action: "transcribe" }, "exactly one of audioBase64 or audioUrl"],
    [{ action: "transcribe", audioBase64: "AAAA", audioUrl: "https://example.com/a.wav" }, "exactly one"],
    [{ action: "transcribe", audioUrl: "file:///etc/passwd" }, "audioUrl"],
  ])("rejects %j", async (args, message) => {
    const e = expectFail(await tool.execute(toolInput(args)));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain(message);
  });
});

/** An AI binding that counts the model runs (each one a paid generation). */
function counting(ai: Env["AI"]) {
  let runs = 0;
  const runner: Env["AI"] = { run: (model, inputs) => (runs++, ai.run(model, inputs)) };
  return { runner, runs: () => runs };
}

/** A bucket whose first `failures` puts throw, as R2 does when briefly unavailable. */
function flaky(bucket: R2Bucket, failures: number) {
  let puts = 0;
  const put: R2Bucket["put"] = async (...args) => {
    if (++puts <= failures) throw new Error("put: We encountered an internal error. Please try again. (10001)");
    return bucket.put(...args);
  };
  return { bucket: { put } as unknown as R2Bucket, puts: () => puts };
}
