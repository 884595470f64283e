import type { IncomingHttpHeaders } from 'node:http';

/** Characters of a completions prompt that make its key (the start of a prompt is what a KV cache shares). */
const PROMPT_PREFIX = 512;

/**
 * The consistent-hashing key of a request: a header's value, or the conversation's first
 * `messages` (role and content; later turns are left out so every turn of one chat maps to the same
 * target). Undefined when the request carries none.
 */
export function hashKey(
  on: 'header' | 'messages',
  header: string | undefined,
  count: number,
  headers: IncomingHttpHeaders,
  body: Record<string, unknown>,
): string | undefined {
  if (on === 'header') {
    const v = headers[header!.toLowerCase()];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s === '' ? undefined : s;
  }
  if (Array.isArray(body.messages)) {
    if (body.messages.length === 0) return undefined;
    let key = '';
    for (const m of body.messages.slice(0, count) as unknown[]) {
      const msg = typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
      key += `${String(msg.role)}\u0000${typeof msg.content === 'string' ? msg.content : JSON.stringify(msg.content ?? null)}\u0001`;
    }
    return key;
  }
  return typeof body.prompt === 'string' && body.prompt !== '' ? body.prompt.slice(0, PROMPT_PREFIX) : undefined;
}
