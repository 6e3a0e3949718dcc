export { RunnerHubDO, type StreamAnswer } from "./runner-hub.js";
