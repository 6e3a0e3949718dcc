/**
 * What text-to-image models on Workers AI answer, as bytes and a content type: flux-1-schnell answers
 * `{ image: base64 JPEG }`, the SDXL family a PNG byte stream. Shared by the media tool (synchronous) and
 * the heavy queue's image tasks.
 */
import { z } from "zod";

const Base64ImageSchema = z.object({ image: z.base64() });

/** The picture's bytes, or null when the model answered something that is not an image. */
export async function imageBytes(output: unknown): Promise<Uint8Array | null> {
  if (output instanceof ReadableStream) return new Uint8Array(await new Response(output).arrayBuffer());
  if (output instanceof Uint8Array) return output;
  if (output instanceof ArrayBuffer) return new Uint8Array(output);
  const parsed = Base64ImageSchema.safeParse(output);
  if (!parsed.success) return null;
  return Uint8Array.from(atob(parsed.data.image), (c) => c.charCodeAt(0));
}

/** PNG has a fixed signature; everything else these models produce is JPEG. */
export function sniffImageType(bytes: Uint8Array): "image/png" | "image/jpeg" {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png";
  return "image/jpeg";
}
