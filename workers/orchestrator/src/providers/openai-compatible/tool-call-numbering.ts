/**
 * Which call a streamed tool-call delta belongs to. `index` alone does not tell calls apart: Ollama sends 0
 * for every parallel call and some upstreams send no index, so a delta that brings a new id starts a new
 * call, and one without an index continues the last call. Calls are numbered 0, 1, 2… in order of first
 * appearance, which is what OpenAI's clients expect `index` to be.
 */
export interface ToolCallDelta {
  /** Missing from some upstreams; Ollama sends 0 for every parallel call. */
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

export class ToolCallNumbering {
  private readonly ids: (string | undefined)[] = [];
  private readonly byIndex = new Map<number, number>();

  of(d: ToolCallDelta): number {
    const current = d.index === undefined ? (this.ids.length ? this.ids.length - 1 : undefined) : this.byIndex.get(d.index);
    const known = current === undefined ? undefined : this.ids[current];
    const n = current !== undefined && !(d.id && known && d.id !== known) ? current : this.ids.push(undefined) - 1;
    if (d.index !== undefined) this.byIndex.set(d.index, n);
    if (d.id) this.ids[n] = d.id;
    return n;
  }
}
