/**
 * What an answer of the agent loop has cost so far, kept as the loop goes: the usage of the rounds finished,
 * and of the round in progress its prompt (told before it is sent) and the text it has written. An answer
 * that ends before its usage is known books it: a stream whose client went away, a session turn stopped, a
 * model that failed in a later round. A cut answer once booked only the larger of the rounds finished and an
 * estimate of the client's own messages and the text streamed, so a cut round's prompt (the system prompt,
 * the tool results, the tools' schemas), which the upstream had read and billed, was never counted.
 */
import type { Usage } from "../../../../lib/protocol/index.js";
import { usageOf } from "../wire.js";

export class Spending {
  private rounds: Usage | undefined;
  /**
   * The prompt of the round in progress, as text to estimate (undefined for the builtin planner, which reads
   * nothing); no round is in progress when it is itself undefined.
   */
  private reading: (() => string | undefined) | undefined;
  private written = "";

  /**
   * A round is about to be sent; `prompt` gives its prompt as text. It is asked only if an answer ends in this
   * round (most rounds' usage comes from the upstream, and the text is the whole conversation and the tools'
   * schemas), and at most once.
   */
  roundStarts(prompt: () => string | undefined) {
    let text: { value: string | undefined } | undefined;
    this.reading = () => (text ??= { value: prompt() }).value;
    this.written = "";
  }

  /** Text the round in progress has written: its answer's, and its reasoning, which the upstream bills alike. */
  wrote(delta: string) {
    this.written += delta;
  }

  /** What the round in progress cost by our estimate, given what it answered (undefined for the builtin planner). */
  estimate(answer: string): Usage | undefined {
    const read = this.reading?.();
    return read === undefined ? undefined : usageOf(read, answer);
  }

  /** The round is over and cost this (the upstream's usage, or our estimate; none for the builtin planner). */
  roundEnds(u: Usage | undefined) {
    if (u) this.rounds = addUsage(this.rounds, u);
    this.reading = undefined;
  }

  /** The rounds finished: what the whole answer cost once it is done. */
  get finished(): Usage | undefined {
    return this.rounds;
  }

  /**
   * What an answer that ended early cost: the rounds finished, plus the round in progress when it was cut
   * (we stopped it: the upstream had read its prompt) or wrote something before it failed. A round the
   * upstream refused before answering is not counted: it billed nothing for it.
   */
  soFar(cut: boolean): Usage | undefined {
    const read = this.reading && (cut || this.written) ? this.reading() : undefined;
    return read === undefined ? this.rounds : addUsage(this.rounds, usageOf(read, this.written));
  }
}

export function addUsage(a: Usage | undefined, b: Usage): Usage {
  if (!a) return { prompt_tokens: b.prompt_tokens, completion_tokens: b.completion_tokens, total_tokens: b.total_tokens };
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}
