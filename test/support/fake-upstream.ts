/**
 * The machinery every fake upstream shares: a real HTTP server on 127.0.0.1:0 that records each
 * request, scriptable behaviour (answer text, pacing, faults) and a stream writer that applies
 * the faults. The per-kind files (ollama-server.ts, tgi-server.ts, ...) only speak their wire format.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Parsed JSON as the tests read it (assertions index into it freely). */
export type Json = any;

/** How the answer ends, in neutral terms; each kind maps it to its own vocabulary. */
export type FakeFinishReason = 'stop' | 'length';

/**
 * Something going wrong. Faults stay in force until changed (`set({ fault: undefined })` or `reset()`).
 * `afterChunks` counts content chunks (one per token) already written.
 */
export type Fault =
  /** Answer with this status and body instead (an object is sent as JSON, a string as text/plain unless `contentType`). */
  | { kind: 'status'; status: number; body: unknown; contentType?: string; headers?: Record<string, string> }
  /** A 2xx (default 200) answer whose body cannot be parsed; in a stream, an unparseable frame and EOF. */
  | { kind: 'garbage'; status?: number; body?: string }
  /** Never answer (or, with `afterChunks`, stop writing a stream after that many chunks and keep it open). */
  | { kind: 'hang'; afterChunks?: number }
  /** Destroy the socket after reading the request, before any byte of answer. */
  | { kind: 'reset' }
  /** Destroy the socket mid-answer: after `afterChunks` stream chunks (default 1), or half-way through a JSON body. */
  | { kind: 'die'; afterChunks?: number }
  /** End the answer cleanly but early: a stream without its final event(s), a JSON body cut in half. */
  | { kind: 'truncate' }
  /** An error inside a 200 stream after `afterChunks` chunks (default 1), in the kind's own shape; a non-streamed request gets the kind's 500 error. */
  | { kind: 'stream-error'; afterChunks?: number; message?: string };

/** What the fake upstream answers; settable between tests with `set()`. */
export interface Behaviour {
  /** The generated text. Defaults to `The sum of 1 + 2 is 3.` */
  text: string;
  /** The stream pieces; defaults to `text` split before each whitespace run. When set, `text` is their concatenation. */
  tokens?: string[];
  /** Pause between stream chunks, ms. Defaults to 0. */
  chunkDelayMs: number;
  /** Pause before the first byte of the answer, ms. Defaults to 0. */
  responseDelayMs: number;
  /** Prompt token count reported. Defaults to 11. */
  promptTokens: number;
  /** Completion token count reported. Defaults to the number of tokens. */
  completionTokens?: number;
  /** Defaults to `stop`. */
  finishReason: FakeFinishReason;
  /** Model name the upstream reports; defaults to the request's (or the kind's own name). */
  model?: string;
  fault?: Fault;
  /** Tool calls the model makes when the request offers tools (Ollama fake); text is answered otherwise. */
  toolCalls?: FakeToolCall[];
  /** Ollama fake, streamed: put the tool calls on the `done` line itself instead of a line before it. */
  toolCallsOnDoneLine?: boolean;
  /** What a reasoning model thinks before answering, when the request asks it to (`think`). */
  thinking?: string;
}

/** A tool call as the model makes it (arguments as an object, as Ollama sends them). */
export interface FakeToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** How a recorded exchange ended. */
export type Outcome = 'finished' | 'client-closed' | 'server-destroyed';

/** One request the fake upstream received. */
export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON; undefined when it was not JSON. */
  body: Json;
  /** True once the upstream has written its whole answer. */
  finished: boolean;
  /** True when the client (the proxy) closed the connection before the answer was complete. */
  clientClosed: boolean;
  /** Resolves when the exchange is over, saying how. */
  closed: Promise<Outcome>;
}

/** A running fake upstream. */
export interface FakeUpstream {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The behaviour in force. */
  readonly behaviour: Behaviour;
  /** Merge these settings into the behaviour. */
  set(settings: Partial<Behaviour>): void;
  /** Default behaviour, no requests recorded. */
  reset(): void;
  /** The most recent request (throws when there is none, so a test fails clearly). */
  last(): RecordedRequest;
  /** Resolves with the next request to arrive (its body read). */
  nextRequest(): Promise<RecordedRequest>;
  /**
   * Requests that arrived on a connection the fake had already given up (`closeAfter` of a stream),
   * and were dropped unanswered, as a real server's closed socket drops them.
   */
  readonly dropped: number;
  /** Stop listening and destroy every open connection. */
  close(): Promise<void>;
}

/** Everything a kind's handler needs for one exchange. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  b: Behaviour;
  /** Text pieces to generate. */
  tokens: string[];
  /** Send a JSON (or text) answer exactly, with no fault applied: for the kind's own errors. */
  send(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Send the successful non-streamed JSON answer, applying the fault in force. */
  answer(body: unknown, headers?: Record<string, string>): Promise<void>;
  /** Send a stream, applying the fault in force. */
  stream(plan: StreamPlan): Promise<void>;
}

/** A stream, already framed in the kind's wire format. */
export interface StreamPlan {
  /** Defaults to 200. */
  status?: number;
  headers: Record<string, string>;
  /** Written before the first chunk (TGI's `:` keep-alive comment). */
  preamble?: string;
  /** One framed content event per token. */
  chunks: string[];
  /** The framed final event(s): finish, usage, `[DONE]`. Left out on `truncate`. */
  tail: string;
  /** The kind's framed in-stream error event, for `stream-error`. */
  errorFrame: (message: string) => string;
  /** An unparseable frame in the kind's framing, for `garbage`. */
  garbageFrame: string;
  /**
   * The server closes the connection after the stream, although it announced keep-alive (llama.cpp's
   * server does, see test/support/README note in llamacpp-server.ts). A request the client sends on it
   * before it sees the close is dropped: the fake closes it a little later, so that this race, which
   * the real server loses one time in three or so, happens every time.
   */
  closeAfter?: boolean;
}

/** Connections a stream with `closeAfter` has ended: what arrives on them is dropped. */
const retired = new WeakSet<object>();

/** How long a retired connection stays open, so that the client's next request can race it. */
const RETIRE_DELAY_MS = 30;

/** One upstream kind: its request handler and its internal-error answer (used for `stream-error` on a non-streamed request). */
export interface KindHandler {
  handle(x: Exchange): Promise<void> | void;
  /** Status and body the kind answers with for an internal error. */
  internalError(message: string): { status: number; body: unknown };
}

export const DEFAULT_TEXT = 'The sum of 1 + 2 is 3.';

function defaultBehaviour(): Behaviour {
  return { text: DEFAULT_TEXT, chunkDelayMs: 0, responseDelayMs: 0, promptTokens: 11, finishReason: 'stop' };
}

/** Split text into stream pieces the way LLM tokens usually look: the leading space stays with the word. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** The tokens behaviour `b` generates. */
export function tokensOf(b: Behaviour): string[] {
  return b.tokens ?? splitTokens(b.text);
}

/** The text behaviour `b` generates. */
export function textOf(b: Behaviour): string {
  return b.tokens ? b.tokens.join('') : b.text;
}

/** An HTML error page as a reverse proxy in front of a model server would send it. */
export function htmlErrorPage(status: number, title = http.STATUS_CODES[status] ?? 'Error'): Fault {
  return {
    kind: 'status',
    status,
    contentType: 'text/html',
    body:
      `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n` +
      `<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n`,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function tryJson(text: string): Json {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function encodeBody(body: unknown, contentType?: string): { text: string; type: string } {
  if (typeof body === 'string') return { text: body, type: contentType ?? 'text/plain; charset=utf-8' };
  return { text: JSON.stringify(body), type: contentType ?? 'application/json' };
}

/**
 * Start a fake upstream speaking one kind's wire format.
 * @param kind handles one exchange; the generic faults (`status`, `reset`, `hang` before any byte,
 *   `responseDelayMs`) are applied before it runs.
 */
export async function startFakeUpstream(kind: KindHandler): Promise<FakeUpstream> {
  let behaviour = defaultBehaviour();
  const requests: RecordedRequest[] = [];
  let waiters: Array<(r: RecordedRequest) => void> = [];
  let dropped = 0;

  const server = http.createServer((req, res) => {
    if (retired.has(req.socket)) {
      dropped++;
      req.socket.destroy();
      return;
    }
    void onRequest(req, res).catch((err: unknown) => {
      // A bug in a fake must fail loudly, not look like an upstream quirk.
      process.stderr.write(`fake upstream crashed: ${String((err as Error)?.stack ?? err)}\n`);
      res.destroy();
    });
  });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b: Behaviour = { ...behaviour };
    const rawBody = await readBody(req);
    const u = new URL(req.url ?? '/', 'http://fake');
    let serverDestroyed = false;
    let resolveClosed!: (o: Outcome) => void;
    const rec: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      rawBody,
      body: tryJson(rawBody),
      finished: false,
      clientClosed: false,
      closed: new Promise<Outcome>((r) => (resolveClosed = r)),
    };
    res.on('finish', () => (rec.finished = true));
    res.on('close', () => {
      if (rec.finished) return resolveClosed('finished');
      if (serverDestroyed) return resolveClosed('server-destroyed');
      rec.clientClosed = true;
      resolveClosed('client-closed');
    });
    requests.push(rec);
    const ws = waiters;
    waiters = [];
    for (const w of ws) w(rec);

    const destroy = (): void => {
      serverDestroyed = true;
      res.destroy();
      req.socket.destroy();
    };
    const fault = b.fault;
    if (fault?.kind === 'reset') return destroy();
    if (b.responseDelayMs > 0) await sleep(b.responseDelayMs);
    if (res.destroyed) return;
    if (fault?.kind === 'hang' && fault.afterChunks === undefined) return;

    const send = (status: number, body: unknown, headers?: Record<string, string>, contentType?: string): void => {
      if (res.destroyed) return;
      const { text, type } = encodeBody(body, contentType);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    if (fault?.kind === 'status') return send(fault.status, fault.body, fault.headers, fault.contentType);

    const x: Exchange = {
      req,
      res,
      rec,
      b,
      tokens: tokensOf(b),
      send: (status, body, headers) => send(status, body, headers),
      answer: async (body, headers) => {
        const { text, type } = encodeBody(body);
        if (fault?.kind === 'garbage') {
          return send(fault.status ?? 200, fault.body ?? '{"generated_text": "cut here', headers, type);
        }
        if (fault?.kind === 'stream-error') {
          const e = kind.internalError(fault.message ?? 'an error was encountered while running the model');
          return send(e.status, e.body);
        }
        if (fault?.kind === 'die' || fault?.kind === 'truncate' || fault?.kind === 'hang') {
          const half = text.slice(0, Math.floor(text.length / 2));
          if (fault.kind === 'truncate') {
            // No content-length: a chunked body that simply ends early.
            res.writeHead(200, { 'content-type': type, ...headers });
            res.end(half);
            return;
          }
          res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers });
          res.write(half);
          if (fault.kind === 'die') {
            await sleep(10);
            destroy();
          }
          return;
        }
        send(200, text, headers, type);
      },
      stream: (plan) => writeStream(res, b, plan, destroy),
    };
    await kind.handle(x);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get behaviour() {
      return behaviour;
    },
    get dropped() {
      return dropped;
    },
    set(settings) {
      behaviour = { ...behaviour, ...settings };
    },
    reset() {
      behaviour = defaultBehaviour();
      requests.length = 0;
      dropped = 0;
    },
    last() {
      const r = requests[requests.length - 1];
      if (!r) throw new Error('the fake upstream received no request');
      return r;
    },
    nextRequest() {
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function writeStream(res: ServerResponse, b: Behaviour, plan: StreamPlan, destroy: () => void): Promise<void> {
  const fault = b.fault;
  if (res.destroyed) return;
  res.writeHead(plan.status ?? 200, plan.headers);
  // Send the headers now: a client waits for them before it can see the first chunk.
  res.flushHeaders();
  if (plan.preamble) res.write(plan.preamble);

  if (fault?.kind === 'garbage') {
    res.end(fault.body ?? plan.garbageFrame);
    return;
  }
  const stopAt =
    fault?.kind === 'die' || fault?.kind === 'stream-error' || fault?.kind === 'hang'
      ? Math.min(fault.afterChunks ?? 1, plan.chunks.length)
      : plan.chunks.length;

  for (let i = 0; i < stopAt; i++) {
    if (i > 0 && b.chunkDelayMs > 0) await sleep(b.chunkDelayMs);
    if (res.destroyed) return;
    res.write(plan.chunks[i]);
  }
  if (fault?.kind === 'hang') return;
  if (fault?.kind === 'die') {
    // Let the written chunks leave before the reset, so the client sees them first.
    await sleep(20);
    destroy();
    return;
  }
  if (b.chunkDelayMs > 0) await sleep(b.chunkDelayMs);
  if (res.destroyed) return;
  if (fault?.kind === 'stream-error') {
    res.end(plan.errorFrame(fault.message ?? 'an error was encountered while running the model'));
    return;
  }
  if (fault?.kind === 'truncate') {
    res.end();
    return;
  }
  res.end(plan.tail);
  if (plan.closeAfter) {
    const socket = res.socket;
    if (!socket) return;
    retired.add(socket);
    setTimeout(() => socket.destroy(), RETIRE_DELAY_MS).unref();
  }
}

/** Reads `x.rec.rawBody` as JSON the way a server would: `{ ok, value }` or `{ ok: false, error }`. */
export function parseJsonBody(raw: string): { ok: true; value: Json } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Seconds since the epoch, as OpenAI's `created`. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
