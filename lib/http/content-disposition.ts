/**
 * `Content-Disposition: attachment` for a stored file name, whatever the uploader sent: a header value may
 * hold no control characters (workerd refuses CR, LF and NUL, so the download was a 500) and only Latin-1,
 * so the name goes as RFC 6266's `filename*` in UTF-8, with a plain ASCII `filename` for old clients.
 */
export function attachment(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_") || "file";
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(filename)}`;
}

/** encodeURIComponent leaves `'()*` and `!` bare; RFC 5987's attr-char does not allow the first four. */
const encodeRfc5987 = (s: string) => encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
