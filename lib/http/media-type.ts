/**
 * A media type as a header may carry it, or null. A file's part Content-Type was stored as sent and set on its
 * download, and workerd refuses a header value holding a NUL or a bare CR: every download of that file was a 500.
 * RFC 9110 §8.3.1 (RFC 7231's grammar, a parameter allowed to be empty): type "/" subtype, then parameters
 * `; name=value`, the value a token or a quoted string. Written so that no text matches two ways, so a long
 * value that fails costs linear time.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** qdtext (HTAB, SP, VCHAR but `"` and `\`, obs-text) or a quoted pair. */
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}[ \\t]*(?:;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED})[ \\t]*)?)*$`);

export const mediaType = (value: string | null | undefined): string | null => (value != null && MEDIA_TYPE.test(value) ? value : null);
