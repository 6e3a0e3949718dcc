/**
 * Why a server refused, for the failure message: the status alone ("HTTP 403 Forbidden") does not say,
 * and a 4xx's body usually does (GitHub's 403 asks for a User-Agent, an API's 400 names the bad
 * parameter), for the model to correct its call and the operator to see what went wrong.
 */

/** Bodies worth quoting: text, JSON and XML (an image or audio file says nothing a model can read). */
const TEXTUAL = /^(text\/|application\/([\w.+-]*\+)?(json|xml)\b)/i;

/**
 * The start of a 4xx answer's text body, at most `maxChars` characters as one line (control and format
 * characters become spaces, runs of white space one space, a longer body ends in "…"); "" for any other
 * answer, whose body is cancelled: a 5xx's is most often a proxy's error page. Only the first bytes are
 * read and the rest cancelled, so a huge or endless body costs nothing; one that fails to read gives
 * what came.
 */
export async function refusalReason(res: Response, maxChars = 200): Promise<string> {
  const type = res.headers.get("content-type");
  if (!res.body || res.status < 400 || res.status >= 500 || (type && !TEXTUAL.test(type))) {
    await res.body?.cancel();
    return "";
  }
  const text = await readStart(res.body, maxChars * 4); // UTF-8 takes at most 4 bytes a character
  const line = text.replace(/[\p{Cc}\p{Cf}\s]+/gu, " ").trim();
  return line.length > maxChars ? `${line.slice(0, maxChars)}…` : line;
}

async function readStart(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  try {
    while (size < maxBytes) {
      const r = await reader.read();
      if (r.done) break;
      text += decoder.decode(r.value.subarray(0, maxBytes - size), { stream: true });
      size += r.value.byteLength;
    }
  } catch {
    // What was read is still worth quoting; the status says the rest.
  }
  await reader.cancel().catch(() => undefined);
  return text;
}
