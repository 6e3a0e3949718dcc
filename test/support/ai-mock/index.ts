/**
 * Workers AI as seen through `env.AI.run(model, inputs)`, answering with recorded output shapes. Prompts
 * steer failure cases, the way a scripted upstream would: "capacity" → Workers AI's retryable 3040,
 * "flaky" → 3040 on the first call with that prompt only, "forbidden" → a non-retryable 5016, "slow" → an
 * answer after 3 s; "png" → a PNG stream as SDXL answers.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import flux from "./flux-1-schnell.json";
import whisper from "./whisper.json";

const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/** Calls per prompt, for "flaky": this isolate lives as long as the test run, like an upstream's state. */
const seen = new Map<string, number>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AiMock extends WorkerEntrypoint {
  async run(model: string, inputs: Record<string, unknown>): Promise<unknown> {
    if (model === "@cf/black-forest-labs/flux-1-schnell") return image(inputs);
    if (model === "@cf/stabilityai/stable-diffusion-xl-base-1.0") return sdxl(inputs);
    if (model === "@cf/openai/whisper") return speech(inputs);
    throw new Error(`5007: No such model ${model} or task`);
  }
}

async function image(inputs: Record<string, unknown>): Promise<unknown> {
  const prompt = String(inputs.prompt ?? "");
  if (typeof inputs.steps !== "number" || inputs.steps > 8) throw new Error("5006: Error: required properties at '/' are 'prompt'; steps must be <= 8");
  const calls = (seen.get(prompt) ?? 0) + 1;
  seen.set(prompt, calls);
  if (prompt.includes("flaky") && calls === 1) throw new Error("3040: Capacity temporarily exceeded, please try again.");
  if (prompt.includes("capacity")) throw new Error("3040: Capacity temporarily exceeded, please try again.");
  if (prompt.includes("forbidden")) throw new Error("5016: Prompt contains content that is not allowed.");
  if (prompt.includes("slow")) await sleep(3_000);
  if (prompt.includes("png")) return new Blob([Uint8Array.from(atob(PNG_1X1), (c) => c.charCodeAt(0))]).stream();
  return flux;
}

/** SDXL answers a PNG stream and takes a size; its published limits are checked like the real model's. */
function sdxl(inputs: Record<string, unknown>): unknown {
  const { prompt, steps = 20, width = 1024, height = 1024 } = inputs as { prompt?: unknown; steps?: number; width?: number; height?: number };
  if (typeof prompt !== "string" || !prompt) throw new Error("5006: Error: required properties at '/' are 'prompt'");
  if (steps > 20 || width < 256 || width > 2048 || height < 256 || height > 2048) throw new Error("5006: Error: steps must be <= 20; width and height 256..2048");
  return new Blob([Uint8Array.from(atob(PNG_1X1), (c) => c.charCodeAt(0))]).stream();
}

function speech(inputs: Record<string, unknown>): unknown {
  const audio = inputs.audio;
  // The real model validates its input schema the same way: a non-empty array of bytes.
  if (!Array.isArray(audio) || audio.length === 0 || !audio.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new Error("5006: Error: required properties at '/' are 'audio'");
  }
  // A WAV file starts with "RIFF"; anything else gets the model's answer to noise: no words.
  const riff = String.fromCharCode(...audio.slice(0, 4));
  return riff === "RIFF" ? whisper : { text: "", word_count: 0, words: [], vtt: "WEBVTT\n\n" };
}

export default { fetch: () => new Response("ai-mock") };
