/**
 * The text of an ordinary Ollama stream line, read without `JSON.parse`, or undefined when the line
 * is anything but exactly that shape (the caller then parses it in full).
 *
 * Ollama writes every content line with Go's `json.Marshal`, in one fixed field order:
 *   {"model":"…","created_at":"…","message":{"role":"assistant","content":"…"},"done":false}
 *   {"model":"…","created_at":"…","response":"…","done":false}
 * Parsing those in full was the largest cost of a streamed answer in the benchmark's profile. Here
 * the whole line is checked against that shape (model and created_at without escapes, nothing
 * else present); only the content string itself is decoded, and only when it has escapes.
 */
export function ollamaFastText(line: string, chat: boolean): string | undefined {
  const tail = chat ? CHAT_TAIL : GENERATE_TAIL;
  if (!line.endsWith(tail) || !line.startsWith(HEAD)) return undefined;
  // "model":"<no quote or backslash>","created_at":"<same>",
  const modelEnd = line.indexOf('"', HEAD.length);
  if (modelEnd === -1 || line.lastIndexOf('\\', modelEnd) >= HEAD.length) return undefined;
  if (!line.startsWith(CREATED, modelEnd)) return undefined;
  const createdStart = modelEnd + CREATED.length;
  const createdEnd = line.indexOf('"', createdStart);
  if (createdEnd === -1 || line.lastIndexOf('\\', createdEnd) >= createdStart) return undefined;
  const key = chat ? CHAT_KEY : GENERATE_KEY;
  if (!line.startsWith(key, createdEnd)) return undefined;
  const start = createdEnd + key.length;
  const end = line.length - tail.length; // the content's closing quote
  if (end < start || line.charCodeAt(end) !== QUOTE) return undefined;
  const body = line.slice(start, end);
  if (body.indexOf('\\') === -1) {
    // No escapes: the text is the raw characters, provided no bare quote or control character hides in it.
    return body.indexOf('"') === -1 && !CONTROL.test(body) ? body : undefined;
  }
  try {
    const text: unknown = JSON.parse(`"${body}"`);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

const QUOTE = 0x22;
const HEAD = '{"model":"';
const CREATED = '","created_at":"';
const CHAT_KEY = '","message":{"role":"assistant","content":"';
const GENERATE_KEY = '","response":"';
const CHAT_TAIL = '"},"done":false}';
const GENERATE_TAIL = '","done":false}';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;
