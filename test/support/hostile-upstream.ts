/**
 * An upstream that misbehaves on request: a real HTTP server on 127.0.0.1:0 that picks what to do
 * from the `model` of the request body (the proxy passes the client's model on when `model.name` is
 * unset). Most answers are written straight to the socket, byte for byte, so that statuses and
 * framing Node's own server would refuse to produce (099, 000, 101, a bare 304) reach the proxy.
 * Any other model gets a well-formed Ollama answer (JSON or NDJSON stream).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type Answer = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void;

function ollamaJson(model: string): string {
  return JSON.stringify({
    model,
    created_at: '2024-01-01T00:00:00.000000000Z',
    message: { role: 'assistant', content: 'ok' },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 3,
    eval_count: 1,
  });
}

function ollamaStream(model: string): string {
  const line = (content: string, done: boolean) =>
    `${JSON.stringify({ model, created_at: '2024-01-01T00:00:00.000000000Z', message: { role: 'assistant', content }, done, ...(done ? { done_reason: 'stop', prompt_eval_count: 3, eval_count: 1 } : {}) })}\n`;
  return line('ok', false) + line('', true);
}

/** A whole 200 answer on the wire, for the request's `stream`. */
export function okResponse(body: Record<string, unknown>): string {
  const model = String(body.model);
  if (body.stream === true) {
    const text = ollamaStream(model);
    return `HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
  }
  const text = ollamaJson(model);
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

/**
 * Writes `bytes` (or what `bytes(body)` gives) to the socket as the whole answer, then ends the
 * connection. Each final answer says `Connection: close`, as a server closing after it must (a closed
 * socket left in the proxy's keep-alive pool is another issue's subject, not these tests').
 */
function raw(bytes: string | ((body: Record<string, unknown>) => string), keepOpen = false): Answer {
  return (req, _res, body) => {
    const socket: Socket = req.socket;
    const text = (typeof bytes === 'string' ? bytes : bytes(body)).replace(/^(HTTP\/1\.1 (?!1)[^\r\n]*\r\n)/gm, '$1Connection: close\r\n');
    socket.write(text, 'latin1');
    if (!keepOpen) socket.end();
  };
}

const jsonError = (status: string, headers = '') => {
  const text = '{"error":"nope"}';
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n${headers}\r\n${text}`;
};

/** The misbehaviours, by model name. */
export const HOSTILE_ANSWERS: Record<string, Answer> = {
  'status-099': raw('HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\n{}'),
  'status-000': raw('HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\n{}'),
  'status-101': raw('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', true),
  'status-101-no-upgrade': raw('HTTP/1.1 101 Switching Protocols\r\n\r\n', true),
  'status-199': raw('HTTP/1.1 199 Odd\r\nContent-Length: 2\r\n\r\n{}'),
  'status-302': raw('HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n'),
  'status-304': raw('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'),
  'status-307': raw(jsonError('307 Temporary Redirect', 'Location: /elsewhere\r\n')),
  'status-600': raw(jsonError('600 Beyond')),
  'status-999': raw(jsonError('999 Way Beyond')),
  'status-103-then-200': raw((b) => `HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n${okResponse(b)}`),
  'status-100-then-200': raw((b) => `HTTP/1.1 100 Continue\r\n\r\n${okResponse(b)}`),
  'retry-after-8k': raw(jsonError('429 Too Many Requests', `Retry-After: ${'9'.repeat(8000)}\r\n`)),
  'retry-after-latin1': raw(jsonError('503 Service Unavailable', 'Retry-After: 10\xe9\r\n')),
  'bad-content-length': raw('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}'),
  'two-content-lengths': raw('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'),
  'header-nul': raw('HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\n{}'),
  'not-http': raw('SSH-2.0-OpenSSH_9.6\r\n'),
  'empty-close': raw(''),
  reset: (req) => req.socket.destroy(),
  hang: () => undefined,
  'deep-json-answer': raw(() => {
    const text = `{"model":"m","message":{"role":"assistant","content":${'['.repeat(100_000)}${']'.repeat(100_000)}},"done":true}`;
    return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
  }),
  'deep-json-error': raw(() => {
    const text = `{"error":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    return `HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
  }),
};

export interface HostileUpstream {
  url: string;
  /** Header sets of every request received, in order. */
  requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // Answered as a well-formed request below.
      }
      const answer = HOSTILE_ANSWERS[String(body.model)] ?? raw(okResponse);
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
