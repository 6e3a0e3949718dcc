/**
 * The assistants' model calls, behind one small interface so the council does not care which provider
 * answers. Today it is the OpenAI-compatible upstream (with its retries and error mapping); the brain's
 * provider interface can replace `openAiCompatibleModel` without touching the council.
 */
import { badRequest } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import { postChat } from "../../workers/orchestrator/src/providers/openai-compatible/client.js";
import { upstreamConfig } from "../../workers/orchestrator/src/chat.js";
import { orchestratorSettings } from "../../workers/orchestrator/src/settings.js";
import { councilSettings } from "./settings.js";

export interface ModelRequest {
  model: string;
  system: string;
  user: string;
}

export interface CouncilModel {
  /** The model's text answer; throws an ApiError when the provider failed after its retries. */
  complete(req: ModelRequest, signal: AbortSignal): Promise<string>;
}

export function openAiCompatibleModel(env: object, log: Logger): CouncilModel {
  const s = orchestratorSettings(env);
  if (!s.CIO_UPSTREAM_BASE_URL) throw badRequest("Councils need a model provider: set CIO_UPSTREAM_BASE_URL.", null, "no_model_provider");
  const cfg = upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL);
  return {
    async complete(req, signal) {
      const body = {
        model: req.model,
        temperature: 0.2,
        messages: [
          { role: "system", content: req.system },
          { role: "user", content: req.user },
        ],
      };
      const { response } = await postChat(cfg, body, signal, log);
      const json = (await response.json()) as { choices?: { message?: { content?: string | null } }[] };
      return json.choices?.[0]?.message?.content ?? "";
    },
  };
}

/** The model an assistant uses when it names none. */
export function defaultCouncilModel(env: object): string {
  const s = councilSettings(env);
  const model = s.CIO_COUNCIL_MODEL ?? s.CIO_UPSTREAM_MODELS[0];
  if (!model) throw badRequest("Councils need a model: set CIO_COUNCIL_MODEL or CIO_UPSTREAM_MODELS.", null, "no_model_provider");
  return model;
}
