/**
 * The builtin planner reads the caller's tool schemas and the caller's text: a parameter's name is
 * matched as itself, never as a pattern, and no text (a chat body is up to a megabyte) makes its
 * patterns backtrack for long.
 */
import { describe, expect, it } from "vitest";
import { fillArgs } from "../../src/providers/builtin/fill-args.js";
import { choose } from "../../src/providers/builtin/planner.js";
import { chat, completionOf, newTenant, user } from "./helpers.js";

const integerNamed = (name: string) => ({ type: "object", properties: { [name]: { type: "integer" } } });
const clientTool = (name: string) => ({ type: "function", function: { name: "calc", description: "calc a number", parameters: integerNamed(name) } });
const TA = {
  type: "object",
  properties: { indicator: { type: "string", enum: ["rsi", "sma"] }, period: { type: "integer" }, closes: { type: "array", items: { type: "number" } } },
};
const URL_ARG = { type: "object", properties: { url: { type: "string", format: "uri" } } };

/** Milliseconds `f` takes. */
function timed(f: () => void): number {
  const started = Date.now();
  f();
  return Date.now() - started;
}

describe("builtin planner: a parameter's name is text, not a pattern", () => {
  it("names holding pattern syntax fill from the text that names them, and nothing else", () => {
    expect(fillArgs(integerNamed("c++"), "calc c++ 17")).toEqual({ "c++": 17 });
    expect(fillArgs(integerNamed("(a+)+$"), "(a+)+$ = 5")).toEqual({ "(a+)+$": 5 });
    expect(fillArgs(integerNamed("a.b"), "axb 5")).toEqual({});
    expect(fillArgs(integerNamed("a.b"), "a.b 5 and 6-a.b")).toEqual({ "a.b": 5 });
    expect(fillArgs(integerNamed("[x"), "7 [x")).toEqual({ "[x": 7 });
  });

  it("a name that would backtrack as a pattern costs nothing", () => {
    // As a pattern, each further "a" doubled the time: 26 took about half a second.
    const tools = [clientTool("(a+)+$")] as never;
    expect(timed(() => choose(tools, "a".repeat(26), { manifests: new Map(), quality: () => 1, minScore: Number.NEGATIVE_INFINITY }))).toBeLessThan(100);
  });

  it("cio/auto answers a client tool whose parameter is named 'c++' with its call", async () => {
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("calc c++ 17")], { tenantId, body: { tools: [clientTool("c++")], tool_choice: { type: "function", function: { name: "calc" } } } }));
    expect(reply.choices[0]!.message.tool_calls?.[0]?.function).toEqual({ name: "calc", arguments: '{"c++":17}' });
  });
});

describe("builtin planner: long runs in the text are read in linear time", () => {
  const N = 40_000;

  it("a run of digits (a list, a number before a name, a number of days)", () => {
    const digits = "1".repeat(N);
    expect(timed(() => expect(fillArgs(TA, `sma ${digits}x`)).toEqual({ indicator: "sma" }))).toBeLessThan(100);
  });

  it("spaces after a parameter's name", () => {
    expect(timed(() => expect(fillArgs(TA, `rsi period${" ".repeat(N)}x`)).toEqual({ indicator: "rsi" }))).toBeLessThan(100);
  });

  it("punctuation inside a URL", () => {
    expect(timed(() => expect(fillArgs(URL_ARG, `https://a.test/${".".repeat(N)}x`)).toEqual({ url: `https://a.test/${".".repeat(N)}x` }))).toBeLessThan(100);
    // The sentence's own punctuation after a URL is still not part of it.
    expect(fillArgs(URL_ARG, "see https://a.test/x).,")).toEqual({ url: "https://a.test/x" });
  });
});
