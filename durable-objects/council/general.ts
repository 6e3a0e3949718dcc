/** The panel `cio/council` seats when the request names none: three ways of judging one question. */
import type { AssistantSpec } from "../../lib/protocol/council.js";

export const GENERAL_ASSISTANTS: AssistantSpec[] = [
  { id: "analyst", persona: "You are analyst. You reason from facts and evidence and say what follows from them.", weight: 1 },
  { id: "skeptic", persona: "You are skeptic. You look for what could be wrong, missing or overstated before you agree.", weight: 1 },
  { id: "pragmatist", persona: "You are pragmatist. You favour the answer that works in practice at the least cost and risk.", weight: 1 },
];
