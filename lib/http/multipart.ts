/**
 * A streaming multipart/form-data reader: parts are yielded one at a time with their content as a stream,
 * read straight from the request body, so a file part of any size passes through in small pieces and is
 * never buffered whole (Request.formData() would). Each part's body must be read (or is skipped) before
 * the next part is yielded.
 */
const CRLF = new Uint8Array([13, 10]);
const MAX_HEADER_BYTES = 16 * 1024;

export interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: ReadableStream<Uint8Array>;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | undefined | null): string | null {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2] ?? null) : null;
}

class Buffered {
  buf = new Uint8Array(0);
  private done = false;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Reads one more chunk into the buffer; false at the end of the body. */
  async more(): Promise<boolean> {
    if (this.done) return false;
    const { value, done } = await this.reader.read();
    if (done) return !(this.done = true);
    const next = new Uint8Array(this.buf.length + value.length);
    next.set(this.buf);
    next.set(value, this.buf.length);
    this.buf = next;
    return true;
  }

  take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
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

export async function* readMultipart(body: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<MultipartPart> {
  const enc = new TextEncoder();
  const dashBoundary = enc.encode(`--${boundary}`);
  const delimiter = enc.encode(`\r\n--${boundary}`);
  const b = new Buffered(body.getReader());
  // Preamble, then the first boundary.
  for (;;) {
    const at = indexOf(b.buf, dashBoundary);
    if (at >= 0) {
      b.take(at + dashBoundary.length);
      break;
    }
    if (!(await b.more())) throw new MultipartError("no multipart boundary found in the body");
  }
  for (;;) {
    while (b.buf.length < 2) if (!(await b.more())) throw new MultipartError("the body ends after a boundary");
    if (b.buf[0] === 45 && b.buf[1] === 45) return; // "--": the closing boundary
    if (b.buf[0] !== CRLF[0] || b.buf[1] !== CRLF[1]) throw new MultipartError("malformed boundary line");
    b.take(2);
    const headers = await readHeaders(b);
    let finished = false;
    const partBody = new ReadableStream<Uint8Array>({
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
          const safe = b.buf.length - delimiter.length + 1;
          if (safe > 0) return controller.enqueue(b.take(safe).slice());
          if (!(await b.more())) return controller.error(new MultipartError("the body ends inside a part"));
        }
      },
    }, { highWaterMark: 0 });
    yield { ...headers, body: partBody };
    if (!finished) for await (const _ of partBody) void _; // the caller skipped this part
  }
}

async function readHeaders(b: Buffered): Promise<Omit<MultipartPart, "body">> {
  const end = new Uint8Array([13, 10, 13, 10]);
  let at = indexOf(b.buf, end);
  while (at < 0) {
    if (b.buf.length > MAX_HEADER_BYTES) throw new MultipartError("part headers are too large");
    if (!(await b.more())) throw new MultipartError("the body ends inside part headers");
    at = indexOf(b.buf, end);
  }
  const text = new TextDecoder().decode(b.take(at));
  b.take(4);
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
