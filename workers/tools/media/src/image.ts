/**
 * Text to image: run the model, store the picture in R2 under the tenant's prefix, answer its URL. Each
 * generation is paid for, so no failure after the model ran asks for the call to be repeated (retryable:
 * false): a failed R2 write is tried again here, with the picture in hand, and the model decides whether to
 * ask for another. Each picture is reported as spent (`ctx.spent`: MEDIA_IMAGE_TOKENS plus its prompt's),
 * so the orchestrator books it to the tenant as an image task's is booked.
 */
import { imageBytes, sniffImageType } from "../../../../lib/ai/image.js";
import { imageUsage } from "../../../../lib/ai/token-estimates.js";
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { backoffMs, sleep } from "../../../../lib/time.js";
import { ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { runModel } from "./ai.js";
import type { Env, Settings } from "./settings.js";

const DEFAULT_STEPS = 4;

export async function generateImage(
  env: Env,
  settings: Settings,
  input: { prompt: string; steps?: number },
  ctx: ToolContext,
): Promise<ToolResult> {
  if (!settings.publicBaseUrl) {
    throw new ToolFailure("not_configured", "image generation needs MEDIA_PUBLIC_BASE_URL to hand out image URLs");
  }
  const model = settings.imageModel;
  const output = await runModel(env.AI, model, { prompt: input.prompt, steps: input.steps ?? DEFAULT_STEPS }, ctx.signal);
  // Told once the model answered, as it bills then: whatever fails after, the picture was paid for.
  ctx.spent(model, imageUsage(input.prompt, settings.imageTokens));
  const bytes = await imageBytes(output);
  if (!bytes) throw new ToolFailure("ai_bad_output", "the image model answered without an image");
  const contentType = sniffImageType(bytes);
  const key = objectKey(ctx.tenantId, contentType === "image/png" ? "png" : "jpg");
  await store(env.MEDIA_BUCKET, key, bytes, { contentType, ctx, model, prompt: input.prompt }, settings);
  const url = settings.publicBaseUrl + key;
  return toolOk(`Generated an image for "${input.prompt}": ${url}`, { url, key, model, contentType, bytes: bytes.byteLength });
}

/** Tenant first, so a bucket listing or lifecycle rule can be scoped per tenant. */
function objectKey(tenantId: string, ext: string): string {
  const day = new Date().toISOString().slice(0, 10);
  return `media/${encodeURIComponent(tenantId)}/${day}/${crypto.randomUUID()}.${ext}`;
}

interface StoreMeta {
  contentType: string;
  ctx: ToolContext;
  model: string;
  prompt: string;
}

/** Writes the image, trying again on a failed put (R2's errors are mostly passing); the same key makes a retry harmless. */
async function store(bucket: R2Bucket, key: string, bytes: Uint8Array, meta: StoreMeta, s: Settings): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await bucket.put(key, bytes, putOptions(meta));
      return;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (attempt >= s.storeAttempts || meta.ctx.signal.aborted) {
        throw new ToolFailure("storage_error", `storing the image in R2 failed (${attempt} attempts): ${message}`);
      }
      await sleep(backoffMs(attempt - 1, s.storeRetryBaseMs));
    }
  }
}

function putOptions(meta: StoreMeta): R2PutOptions {
  return {
    httpMetadata: { contentType: meta.contentType, cacheControl: "public, max-age=31536000, immutable" },
    customMetadata: {
      tenantId: meta.ctx.tenantId,
      requestId: meta.ctx.requestId,
      model: meta.model,
      prompt: meta.prompt.slice(0, 512),
    },
  };
}
