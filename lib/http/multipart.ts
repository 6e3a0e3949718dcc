/**
 * A streaming multipart/form-data reader: parts are yielded one at a time with their content as a stream,
 * read straight from the request body, so a file part of any size passes through in small pieces and is
 * never buffered whole (Request.formData() would). Each part's body must be read (or is skipped) before
 * the next part is yielded. Every search reads each byte a bounded number of times and holds at most about
 * `maxHeaderBytes` and a chunk, so no body, however shaped, costs more than linear time or bounded memory.
 */
const CRLF = new Uint8Array([13, 10]);
const HEADERS_END = new Uint8Array([13, 10, 13, 10]);
/** RFC 2046 §5.1.1 allows 1 to 70 characters; each byte searched may be compared against the whole boundary. */
const MAX_BOUNDARY_CHARS = 70;

export interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: ReadableStream<Uint8Array>;
}

export interface MultipartLimits {
  /** Most bytes before the first boundary (the preamble), and in one part's headers. */
  maxHeaderBytes: number;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | undefined | null): string | null {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/** The body's unread bytes, read chunk by chunk into one reused store. */
class Buffered {
  private store = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private done = false;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  get buf(): Uint8Array {
    return this.store.subarray(this.start, this.end);
  }

  get length(): number {
    return this.end - this.start;
  }

  /** Reads one more chunk into the buffer; false at the end of the body. */
  async more(): Promise<boolean> {
    if (this.done) return false;
    const { value, done } = await this.reader.read();
    if (done) return !(this.done = true);
    this.append(value);
    return true;
  }

  /** The next n bytes (fewer at the end): a view that the next more() may overwrite, so copy what is kept. */
  take(n: number): Uint8Array {
    const out = this.store.subarray(this.start, Math.min(this.start + n, this.end));
    this.start += out.length;
    return out;
  }

  /**
   * Appends in place while the store has room; else moves the unread bytes to its front, into a store twice
   * their size with the chunk when they would fill more than half of it. A byte is so copied a bounded number
   * of times on average, whatever the chunk sizes (copying the whole buffer for each chunk was quadratic).
   */
  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.store.length) {
      const live = this.length;
      const need = live + chunk.length;
      if (need * 2 > this.store.length) {
        const grown = new Uint8Array(need * 2);
        grown.set(this.buf);
        this.store = grown;
      } else this.store.copyWithin(0, this.start, this.end);
      [this.start, this.end] = [0, live];
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

export async function* readMultipart(body: ReadableStream<Uint8Array>, boundary: string, limits: MultipartLimits): AsyncGenerator<MultipartPart> {
  if (boundary.length > MAX_BOUNDARY_CHARS) throw new MultipartError(`the boundary is longer than ${MAX_BOUNDARY_CHARS} characters`);
  const delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
  const b = new Buffered(body.getReader());
  await skipPreamble(b, delimiter.subarray(CRLF.length), limits.maxHeaderBytes);
  while (await afterBoundary(b)) {
    const headers = partHeaders(await headerBlock(b, limits.maxHeaderBytes));
    const part = partBody(b, delimiter);
    yield { ...headers, body: part.body };
    if (!part.finished()) for await (const _ of part.body) void _; // the caller skipped this part
  }
}

/** True after a boundary line (CRLF: a part follows), false after the closing one ("--"). */
async function afterBoundary(b: Buffered): Promise<boolean> {
  while (b.length < 2) if (!(await b.more())) throw new MultipartError("the body ends after a boundary");
  const [first, second] = b.take(2);
  if (first === 45 && second === 45) return false;
  if (first !== CRLF[0] || second !== CRLF[1]) throw new MultipartError("malformed boundary line");
  return true;
}

/** A part's content, up to the next delimiter, pulled from the body as it is read. */
function partBody(b: Buffered, delimiter: Uint8Array): { body: ReadableStream<Uint8Array>; finished: () => boolean } {
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const at = indexOf(b.buf, delimiter);
        if (at >= 0) {
          if (at > 0) controller.enqueue(b.take(at).slice());
          b.take(delimiter.length);
          finished = true;
          return controller.close();
        }
        // Everything but a possible start of the delimiter can go out now.
        const safe = b.length - delimiter.length + 1;
        if (safe > 0) return controller.enqueue(b.take(safe).slice());
        if (!(await b.more())) return controller.error(new MultipartError("the body ends inside a part"));
      }
    },
  }, { highWaterMark: 0 });
  return { body, finished: () => finished };
}

/**
 * Reads past the preamble (text before the first boundary, which RFC 2046 says to ignore) and the first
 * boundary. Only the bytes that may begin a boundary are kept between reads, and at most `maxBytes` are
 * skipped: a body without its boundary is refused there, not read to its end.
 */
async function skipPreamble(b: Buffered, dashBoundary: Uint8Array, maxBytes: number): Promise<void> {
  for (let skipped = 0; ;) {
    const at = indexOf(b.buf, dashBoundary);
    skipped += b.take(at >= 0 ? at : Math.max(0, b.length - dashBoundary.length + 1)).length;
    if (skipped > maxBytes) throw new MultipartError(`more than ${maxBytes} bytes precede the first boundary`);
    if (at >= 0) return void b.take(dashBoundary.length);
    if (!(await b.more())) throw new MultipartError("no multipart boundary found in the body");
  }
}

/** A part's header lines, at most `maxBytes`; each search starts where the last one could not have matched. */
async function headerBlock(b: Buffered, maxBytes: number): Promise<string> {
  for (let from = 0; ;) {
    const at = indexOf(b.buf, HEADERS_END, from);
    from = at >= 0 ? at : Math.max(0, b.length - HEADERS_END.length + 1);
    if (from > maxBytes) throw new MultipartError(`part headers are longer than ${maxBytes} bytes`);
    if (at >= 0) {
      const text = new TextDecoder().decode(b.take(at));
      b.take(HEADERS_END.length);
      return text;
    }
    if (!(await b.more())) throw new MultipartError("the body ends inside part headers");
  }
}

function partHeaders(text: string): Omit<MultipartPart, "body"> {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-type") contentType = value;
    if (key === "content-disposition") {
      name = param(value, "name");
      const ext = param(value, "filename*");
      filename = (ext === null ? null : extValue(ext)) ?? param(value, "filename") ?? ext;
    }
  }
  if (name === null) throw new MultipartError("a part has no Content-Disposition name");
  return { name, filename, contentType };
}

/**
 * RFC 5987's `charset'lang'percent-encoded` (`UTF-8''caf%C3%A9.csv`); null when it cannot be decoded, so the
 * plain `filename` (or the raw text) is used instead of failing the upload.
 */
function extValue(v: string): string | null {
  const m = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(v);
  const bytes = m ? percentDecoded(m[2]!) : null;
  if (!bytes) return null;
  try {
    return new TextDecoder(m![1] || "utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

function percentDecoded(s: string): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "%") {
      out.push(s.charCodeAt(i));
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9a-f]{2}$/i.test(hex)) return null;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return out.some((b) => b > 255) ? null : new Uint8Array(out);
}

function param(header: string, key: string): string | null {
  const re = new RegExp(`;\\s*${key.replace("*", "\\*")}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i");
  const m = re.exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "").trim();
}
