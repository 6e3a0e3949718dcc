import type { TaskType } from "../../../../lib/protocol/heavy.js";
import type { Job } from "../job.js";
import { analyzeFile } from "./analysis/index.js";
import { planBatch } from "./batch/plan.js";
import { chatCompletion } from "./chat-completion.js";
import { generateImage } from "./image-generation.js";

/** One job per task type; adding a kind of heavy work is one file and one line here. */
export const JOBS: Record<TaskType, Job> = {
  file_analysis: analyzeFile,
  batch: planBatch,
  chat_completion: chatCompletion,
  image_generation: generateImage,
};
