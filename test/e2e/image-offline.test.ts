import { describe, expect, inject, it } from "vitest";

describe("image tasks on the offline stack (`npm start`, no Workers AI)", () => {
  it("are refused at once with an OpenAI error that says why, not queued to fail later", async () => {
    const res = await fetch(`${inject("stackUrl")}/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("stackKey")}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "image_generation", params: { prompt: "a lighthouse at dusk" } }),
    });
    expect(res.status).toBe(501);
    const { error } = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(error).toMatchObject({ type: "server_error", code: "ai_not_configured" });
    expect(error.message).toContain("Image generation needs Workers AI");
  });
});
