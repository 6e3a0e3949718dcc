import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { withDirective } from "../mock-upstream/directive.ts";

const client = (apiKey = inject("stackKey")) => new OpenAI({ baseURL: `${inject("stackUrl")}/v1`, apiKey, maxRetries: 0 });

describe("the official openai client against `npm start`", () => {
  it("lists models", async () => {
    const ids = (await client().models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["cio/auto", "mock-model"]));
  });

  it("retrieves a model, its id's slash URL-encoded by the SDK; an unknown one is a NotFoundError", async () => {
    expect(await client().models.retrieve("cio/auto")).toMatchObject({ id: "cio/auto", object: "model" });
    await expect(client().models.retrieve("cio/nope")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("non-streaming completion", async () => {
    const r = await client().chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "ping" }] });
    expect(r.choices[0]!.message.content).toBe("Echo: ping");
    expect(r.usage!.total_tokens).toBeGreaterThan(0);
  });

  it("streaming without usage", async () => {
    const stream = await client().chat.completions.create({ model: "mock-model", stream: true, messages: [{ role: "user", content: "alpha beta gamma" }] });
    let text = "";
    let sawUsage = false;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) sawUsage = true;
    }
    expect(text).toBe("Echo: alpha beta gamma");
    expect(finish).toBe("stop");
    expect(sawUsage).toBe(false);
  });

  it("streaming with include_usage", async () => {
    const stream = await client().chat.completions.create({
      model: "mock-model",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: withDirective("delta epsilon", { comments: true }) }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Echo: delta epsilon");
  });

  it("cio/auto answers offline through the builtin provider", async () => {
    const r = await client().chat.completions.create({ model: "cio/auto", messages: [{ role: "user", content: "hello" }] });
    expect(r.choices[0]!.message.content).toContain("no language model was used");
  });

  it("authentication errors surface as the SDK's AuthenticationError", async () => {
    const err = await client("sk-cio-wrong").chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.error).toMatchObject({ type: "authentication_error" });
  });

  it("validation errors surface as BadRequestError naming the param", async () => {
    const err = await client()
      .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }], temperature: 9 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("temperature");
    expect(err.requestID ?? err.headers?.get?.("x-request-id")).toBeTruthy();
  });

  it("an unknown model is a NotFoundError", async () => {
    const err = await client().chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
  });
});
