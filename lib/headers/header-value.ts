/** Longest header value the proxy sets from outside data (a model name, an upstream's `Retry-After`). */
export const MAX_HEADER_VALUE_LENGTH = 256;

const PLAIN = /^[\x20-\x7e]*$/;

/**
 * A response header value built from client or upstream data, safe to hand to `setHeader`:
 * printable ASCII passes as is; any other character (non-Latin-1, CR, LF, NUL, other controls, `%`)
 * is percent-encoded as UTF-8, and the result is cut to `max` characters (never inside an escape).
 * Node throws `ERR_INVALID_CHAR` on CR/LF/NUL and anything above U+00FF, and its clients refuse
 * headers beyond 16 KiB: either would cost the answer, or the process.
 */
export function safeHeaderValue(value: string, max: number = MAX_HEADER_VALUE_LENGTH): string {
  if (value.length <= max && PLAIN.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    const piece = code >= 0x20 && code <= 0x7e && ch !== '%' ? ch : percentEncode(ch);
    if (out.length + piece.length > max) break;
    out += piece;
  }
  return out;
}

function percentEncode(ch: string): string {
  // Buffer turns a lone surrogate into U+FFFD where encodeURIComponent would throw.
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
