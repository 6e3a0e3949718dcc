export * from "./openai.js";
export * from "./tool.js";
export * from "./orchestrator.js";
