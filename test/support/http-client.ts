/**
 * Small fetch helpers for e2e tests: every request carries a timeout so a hang fails the test
 * instead of blocking the run, and SSE / NDJSON bodies are split by the wire rules.
 */

/** The default per-request deadline of these helpers, ms. */
export const CLIENT_TIMEOUT_MS = 5000;

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: any;
}

export interface PostOptions {
  headers?: Record<string, string>;
  /** Send this exact text instead of `JSON.stringify(body)`. */
  raw?: string | Buffer;
  method?: string;
  timeoutMs?: number;
}

/** POST `body` as JSON (or `opts.raw`) and read the whole answer. */
export async function post(url: string, body: unknown, opts: PostOptions = {}): Promise<HttpResult> {
  const res = await fetch(url, {
    method: opts.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.method === 'GET' || opts.method === 'HEAD' ? undefined : (opts.raw ?? JSON.stringify(body)),
    signal: AbortSignal.timeout(opts.timeoutMs ?? CLIENT_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** One SSE event: its `data` lines joined by `\n` (comments dropped), and its `event` name if any. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Split an SSE text into events by the SSE rules (one optional space after the colon, `:` comments ignored). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    let data: string[] | undefined;
    let event: string | undefined;
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i === -1 ? line : line.slice(0, i);
      let value = i === -1 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
      else if (field === 'event') event = value;
    }
    if (data) events.push(event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') });
  }
  return events;
}

/** The SSE `data` payloads of a text, JSON-parsed except the `[DONE]` sentinel (kept as the string). */
export function sseData(text: string): any[] {
  return parseSse(text).map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)));
}

/** The JSON objects of an NDJSON text. */
export function ndjson(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** A streamed answer read piece by piece, so a test can look at it before the upstream is done. */
export interface OpenStream {
  status: number;
  headers: Headers;
  /** Resolves with the next bytes as text, or undefined at the end. */
  next(): Promise<string | undefined>;
  /** Read until `pred(textSoFar)` holds (or the end); returns the text so far. */
  readUntil(pred: (soFar: string) => boolean): Promise<string>;
  /** Read to the end; returns the whole text (including what was already read). */
  readAll(): Promise<string>;
  /** Abort the request (the client disconnects). */
  abort(): void;
}

/** POST and return as soon as the headers arrive, with the body left to read. */
export async function openStream(url: string, body: unknown, opts: PostOptions = {}): Promise<OpenStream> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('client timeout')), opts.timeoutMs ?? CLIENT_TIMEOUT_MS);
  timer.unref();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.raw ?? JSON.stringify(body),
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let soFar = '';
  let done = false;
  const next = async (): Promise<string | undefined> => {
    if (done) return undefined;
    const r = await reader.read();
    if (r.done) {
      done = true;
      clearTimeout(timer);
      const tail = decoder.decode();
      soFar += tail;
      return tail === '' ? undefined : tail;
    }
    const piece = decoder.decode(r.value, { stream: true });
    soFar += piece;
    return piece;
  };
  return {
    status: res.status,
    headers: res.headers,
    next,
    async readUntil(pred) {
      while (!pred(soFar) && (await next()) !== undefined);
      return soFar;
    },
    async readAll() {
      while ((await next()) !== undefined);
      return soFar;
    },
    abort() {
      clearTimeout(timer);
      ac.abort();
    },
  };
}
