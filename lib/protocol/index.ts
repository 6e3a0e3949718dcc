export * from "./openai.js";
export * from "./tool.js";
export * from "./orchestrator.js";
export * from "./runner.js";
export * from "./session-events.js";
export * from "./heavy.js";
export * from "./feedback.js";
export * from "./runner-hub.js";
