/**
 * The OpenAI chat completions wire format, as far as we validate it. Objects are `loose` so unknown
 * fields (new OpenAI parameters, provider extensions) are tolerated and passed on to the upstream.
 */
import { z } from "zod";

const contentPart = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(contentPart)]);

export const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/**
 * GPT-5's custom (free-form) tools and their calls. A passthrough model gets them as they are; cio/auto's agent
 * loop calls function tools only and refuses them.
 */
const CustomToolSchema = z.looseObject({ type: z.literal("custom"), custom: z.looseObject({ name: z.string().min(1), description: z.string().optional() }) });
export const CustomToolCallSchema = z.looseObject({ id: z.string(), type: z.literal("custom"), custom: z.looseObject({ name: z.string(), input: z.string() }) });
const AnyToolCallSchema = z.discriminatedUnion("type", [ToolCallSchema, CustomToolCallSchema]);
export type AnyToolCall = z.infer<typeof AnyToolCallSchema>;

export const ChatMessageSchema = z.discriminatedUnion("role", [
  z.looseObject({ role: z.literal("system"), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal("developer"), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal("user"), content, name: z.string().optional() }),
  z.looseObject({
    role: z.literal("assistant"),
    content: content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(AnyToolCallSchema).optional(),
  }),
  z.looseObject({ role: z.literal("tool"), content, tool_call_id: z.string() }),
  /**
   * The result of a deprecated `function_call`, which OpenAI still takes: a passthrough model gets it as it is;
   * cio/auto, whose answers call tools, refuses it, and a session, which links results to calls by id, too.
   */
  z.looseObject({ role: z.literal("function"), content: z.string().nullable(), name: z.string() }),
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const FunctionToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "tool names are 1-64 letters, digits, _ or -"),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type FunctionTool = z.infer<typeof FunctionToolSchema>;

/** One tool by name, as a tool_choice names it and as allowed_tools lists it. */
const ToolRefSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) }),
  z.looseObject({ type: z.literal("custom"), custom: z.looseObject({ name: z.string() }) }),
]);
const AllowedToolsChoiceSchema = z.looseObject({
  type: z.literal("allowed_tools"),
  allowed_tools: z.looseObject({ mode: z.enum(["auto", "required"]), tools: z.array(ToolRefSchema) }),
});

/**
 * tool_choice as OpenAI takes it: a mode, one tool by name, or allowed_tools (the tools the model may call, and
 * whether it must call one). Any other value is refused as OpenAI refuses it: passed on, it reached cio/auto
 * as a named function without a name ("names 'undefined'"), and a passthrough model as whatever its server made
 * of it. zod says only "Invalid input" for a union, so the message is the fitting branch's own.
 */
export const ToolChoiceSchema = z.union([z.enum(["none", "auto", "required"]), z.discriminatedUnion("type", [ToolRefSchema, AllowedToolsChoiceSchema])], {
  error: (iss) => {
    const inner = typeof iss.input === "object" && iss.input !== null ? (iss as { errors?: z.core.$ZodIssue[][] }).errors?.[1]?.[0] : undefined;
    if (inner) return `${inner.path.length ? `at ${z.core.toDotPath(inner.path)}: ` : ""}${inner.message}`;
    return `expected 'none', 'auto', 'required' or an object naming tools (type 'function', 'custom' or 'allowed_tools'), not ${JSON.stringify(iss.input)}.`;
  },
});
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

export const ChatCompletionRequestSchema = z
  .looseObject({
    model: z.string().min(1),
    messages: z.array(ChatMessageSchema).min(1, "messages must contain at least one message"),
    stream: z.boolean().nullable().optional(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    /** Choices to generate: passthrough models pass it on; cio/* models and session turns give one answer. */
    n: z.number().int().min(1).max(128).nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().optional(),
    tools: z.array(z.discriminatedUnion("type", [FunctionToolSchema, CustomToolSchema])).optional(),
    tool_choice: ToolChoiceSchema.optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    /** For reasoning models; the set of values grows with OpenAI's models, so any string passes on. */
    reasoning_effort: z.string().nullable().optional(),
    response_format: z.looseObject({ type: z.string() }).optional(),
    /** CIO extension: attach the turn to a session's history. */
    session_id: z.string().optional(),
  })
  // As OpenAI answers it: options for a stream that was not asked for are a mistake, not something to drop.
  .refine((r) => r.stream === true || r.stream_options === undefined || r.stream_options === null, {
    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    path: ["stream_options"],
  })
  // A session's history holds one answer per turn: which of n choices would it keep?
  .refine((r) => r.session_id === undefined || r.n == null || r.n === 1, {
    message: "The 'n' parameter must be 1 with 'session_id': a session's history records one answer per turn.",
    path: ["n"],
  })
  .meta({ id: "ChatCompletionRequest" });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const UsageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const ChatCompletionSchema = z
  .looseObject({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.looseObject({
        index: z.number().int(),
        message: z.looseObject({
          role: z.literal("assistant"),
          content: z.string().nullable(),
          tool_calls: z.array(ToolCallSchema).optional(),
        }),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: UsageSchema.optional(),
  })
  .meta({ id: "ChatCompletion" });
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const ChatCompletionChunkSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      delta: z.looseObject({
        role: z.string().optional(),
        content: z.string().nullable().optional(),
        tool_calls: z.array(z.looseObject({ index: z.number().int() })).optional(),
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: UsageSchema.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

export const ModelSchema = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.number().int(),
  owned_by: z.string(),
});
export const ModelListSchema = z.object({ object: z.literal("list"), data: z.array(ModelSchema) }).meta({ id: "ModelList" });
export type Model = z.infer<typeof ModelSchema>;

export const ErrorBodySchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: "Error" });
