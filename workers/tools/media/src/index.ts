/** media: image generation (stored in R2, answered as a URL) and speech to text, on Workers AI. */
import type { ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolEntrypoint, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { MediaArgs } from "./args.js";
import { generateImage } from "./image.js";
import { settingsFrom, type Env } from "./settings.js";
import { transcribe } from "./transcribe.js";

const EXAMPLES = [
  "Generate an image of a lighthouse on a cliff at sunset",
  "Draw a picture of a cat astronaut",
  "Create an illustration for my blog post about edge computing",
  "Transcribe this audio recording",
  "Convert this voice memo to text: https://example.com/memo.mp3",
];

export default class MediaTool extends ToolEntrypoint<Env, typeof MediaArgs> {
  readonly args = MediaArgs;
  /** A getter: what a call spends (a picture, MEDIA_IMAGE_TOKENS) is a setting, read from env. */
  get info() {
    return {
      name: "media",
      description:
        "Generate an image from a text description (returns a link to the picture), or transcribe speech " +
        "in an audio file to text.",
      timeoutMs: 60_000,
      version: "1.0.0",
      examples: EXAMPLES,
      spends: { tokens: settingsFrom(this.env).imageTokens },
    };
  }

  protected async run(args: MediaArgs, ctx: ToolContext): Promise<ToolResult> {
    const settings = settingsFrom(this.env);
    if (args.action === "generate-image") {
      return generateImage(this.env, settings, { prompt: args.prompt ?? "", steps: args.steps }, ctx);
    }
    return transcribe(this.env, settings, args, ctx);
  }
}
