/**
 * The text of an ordinary Ollama stream line as a JSON string literal (quotes included, exactly
 * what `JSON.stringify` of the text gives), read without `JSON.parse`; undefined when the line is
 * anything but exactly that shape (the caller then parses it in full).
 *
 * Ollama writes every content line with Go's `json.Marshal`, in one fixed field order:
 *   {"model":"…","created_at":"…","message":{"role":"assistant","content":"…"},"done":false}
 *   {"model":"…","created_at":"…","response":"…","done":false}
 * Parsing those in full, and serialising the text again, were the largest costs of a streamed
 * answer in the benchmark's profile. Here the whole line is checked against that shape (model and
 * created_at without escapes, nothing else present). A content string without escapes is already
 * its own JSON literal and is returned as a slice of the line; one with escapes is decoded and
 * serialised again, so that what the client (and the redactor) sees is what `JSON.stringify` makes.
 */
export function ollamaFastJson(line: string, chat: boolean): string | undefined {
  const tail = chat ? CHAT_TAIL : GENERATE_TAIL;
  if (!line.endsWith(tail) || !has(line, HEAD, 0)) return undefined;
  // "model":"<no quote or backslash>","created_at":"<same>",
  const modelEnd = line.indexOf('"', HEAD.length);
  if (modelEnd === -1 || !has(line, CREATED, modelEnd)) return undefined;
  const createdStart = modelEnd + CREATED.length;
  const createdEnd = line.indexOf('"', createdStart);
  if (createdEnd === -1) return undefined;
  // One scan finds a backslash in the model or created_at (refused) and tells whether the content has escapes.
  const backslash = line.indexOf('\\', HEAD.length);
  if (backslash !== -1 && backslash < createdEnd) return undefined;
  const key = chat ? CHAT_KEY : GENERATE_KEY;
  if (!has(line, key, createdEnd)) return undefined;
  const start = createdEnd + key.length; // the content's first character
  const end = line.length - tail.length; // the content's closing quote
  if (end < start || line.charCodeAt(end) !== QUOTE) return undefined;
  if (backslash === -1) {
    // No escapes: the literal is the raw characters, provided no bare quote or control character hides in it.
    if (line.indexOf('"', start) !== end) return undefined;
    for (let i = start; i < end; i++) if (line.charCodeAt(i) < 0x20) return undefined;
    return line.slice(start - 1, end + 1);
  }
  try {
    const text: unknown = JSON.parse(line.slice(start - 1, end + 1));
    return typeof text === 'string' ? JSON.stringify(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `line` holds `part` at `position`. Not `startsWith(part, position)`: V8 runs that several
 * times slower than comparing a slice (250 ns against 35 for the chat key, on Node 20).
 */
function has(line: string, part: string, position: number): boolean {
  return line.slice(position, position + part.length) === part;
}

const QUOTE = 0x22;
const HEAD = '{"model":"';
const CREATED = '","created_at":"';
const CHAT_KEY = '","message":{"role":"assistant","content":"';
const GENERATE_KEY = '","response":"';
const CHAT_TAIL = '"},"done":false}';
const GENERATE_TAIL = '","done":false}';
