/**
 * The tool's arguments: one flat object with an `action`, which is easier for planners and small models
 * to fill than a union of shapes. Which fields an action needs is checked in superRefine.
 */
import { z } from "zod";

export const MediaArgs = z
  .object({
    action: z
      .enum(["generate-image", "transcribe"])
      .describe("generate-image: text to image; transcribe: speech to text"),
    prompt: z.string().trim().min(1).max(2_048).optional().describe("what the image should show (generate-image)"),
    steps: z.number().int().min(1).max(8).optional().describe("image diffusion steps, 1-8 (default 4)"),
    audioBase64: z.string().min(1).optional().describe("the audio file, base64-encoded (transcribe)"),
    audioUrl: z.url({ protocol: /^https?$/ }).optional().describe("URL of the audio file (transcribe)"),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.action === "generate-image" && !a.prompt) {
      ctx.addIssue({ code: "custom", message: "generate-image needs a prompt", path: ["prompt"] });
    }
    if (a.action === "transcribe" && Boolean(a.audioBase64) === Boolean(a.audioUrl)) {
      ctx.addIssue({ code: "custom", message: "transcribe needs exactly one of audioBase64 or audioUrl", path: ["audioBase64"] });
    }
  });
export type MediaArgs = z.infer<typeof MediaArgs>;
