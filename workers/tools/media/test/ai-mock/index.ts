/**
 * Workers AI as seen through `env.AI.run(model, inputs)`, answering with recorded output shapes. Prompts
 * steer failure cases, the way a scripted upstream would: "capacity" → Workers AI's retryable 3040,
 * "forbidden" → a non-retryable 5016, "slow" → an answer after 3 s; "png" → a PNG stream as SDXL answers.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import flux from "./flux-1-schnell.json";
import whisper from "./whisper.json";

const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AiMock extends WorkerEntrypoint {
  async run(model: string, inputs: Record<string, unknown>): Promise<unknown> {
    if (model === "@cf/black-forest-labs/flux-1-schnell") return image(inputs);
    if (model === "@cf/openai/whisper") return speech(inputs);
    throw new Error(`5007: No such model ${model} or task`);
  }
}

async function image(inputs: Record<string, unknown>): Promise<unknown> {
  const prompt = String(inputs.prompt ?? "");
  if (typeof inputs.steps !== "number" || inputs.steps > 8) throw new Error("5006: Error: required properties at '/' are 'prompt'; steps must be <= 8");
  if (prompt.includes("capacity")) throw new Error("3040: Capacity temporarily exceeded, please try again.");
  if (prompt.includes("forbidden")) throw new Error("5016: Prompt contains content that is not allowed.");
  if (prompt.includes("slow")) await sleep(3_000);
  if (prompt.includes("png")) return new Blob([Uint8Array.from(atob(PNG_1X1), (c) => c.charCodeAt(0))]).stream();
  return flux;
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
