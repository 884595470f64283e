/**
 * The fake Llama 2 server: answers Ollama `/api/chat` (JSON or NDJSON), TGI `/generate` and
 * OpenAI `/v1/chat/completions` (JSON or SSE) from pre-serialised Buffers, so that it costs as
 * little CPU as possible. Runs as a child process of bench/run.ts (see `main` below).
 */
import http from 'node:http';
import { failToParent, serveParent } from './child-ipc';
import { ollamaChatJson, ollamaChatNdjson, ollamaToolCallJson, openaiChatJson, openaiChatSse, tgiGenerateJson } from './payloads';

/** How the upstream streams. */
export interface UpstreamOptions {
  /** Content chunks per streamed answer. */
  chunks: number;
  /** Time to send one streamed answer, ms; 0 writes every chunk in the same tick. */
  streamMs: number;
}

type Stream = { lines: Buffer[]; last: Buffer };

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function sendJson(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { ...JSON_HEADERS, 'content-length': body.length });
  res.end(body);
}

function sendStream(res: http.ServerResponse, contentType: string, stream: Stream, intervalMs: number): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
  if (intervalMs <= 0) {
    // One write per line, as a server flushing each token: the proxy sees separate chunks
    // (coalesced by TCP only when it cannot keep up).
    for (const line of stream.lines) res.write(line);
    res.end(stream.last);
    return;
  }
  let i = 0;
  const tick = (): void => {
    const line = stream.lines[i++];
    if (line === undefined) {
      res.end(stream.last);
      return;
    }
    res.write(line);
    timer = setTimeout(tick, intervalMs);
  };
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => clearTimeout(timer));
  tick();
}

/** The upstream server, and a way to change its streaming pace while it runs. */
export interface Upstream {
  server: http.Server;
  setStreamMs: (ms: number) => void;
}

/** Starts the upstream on 127.0.0.1, on a free port. */
export async function startUpstream(opts: UpstreamOptions): Promise<Upstream> {
  const ollamaJson = ollamaChatJson();
  const ollamaToolCall = ollamaToolCallJson();
  const ollamaNdjson = ollamaChatNdjson(opts.chunks);
  const tgiJson = tgiGenerateJson();
  const openaiJson = openaiChatJson();
  const openaiSse = openaiChatSse(opts.chunks);
  let intervalMs = opts.streamMs / opts.chunks;

  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: { stream?: unknown; tools?: unknown };
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: unknown; tools?: unknown };
      } catch {
        res.writeHead(400, JSON_HEADERS).end('{"error":"invalid JSON"}');
        return;
      }
      const path = req.url ?? '/';
      if (path.startsWith('/api/chat')) {
        // Ollama streams unless told otherwise.
        // A model offered tools calls one.
        if (body.stream === false) sendJson(res, Array.isArray(body.tools) ? ollamaToolCall : ollamaJson);
        else sendStream(res, 'application/x-ndjson', ollamaNdjson, intervalMs);
      } else if (path.startsWith('/generate')) {
        sendJson(res, tgiJson);
      } else if (path.startsWith('/v1/chat/completions')) {
        if (body.stream === true) sendStream(res, 'text/event-stream', openaiSse, intervalMs);
        else sendJson(res, openaiJson);
      } else {
        res.writeHead(404, JSON_HEADERS).end('{"error":"not found"}');
      }
    });
  });
  // Streams in scale mode are long-lived; idle keep-alive sockets of the proxy's agent must survive warm-up gaps.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, setStreamMs: (ms) => (intervalMs = ms / opts.chunks) };
}

if (require.main === module) {
  const opts = JSON.parse(process.argv[2] ?? '{}') as UpstreamOptions;
  startUpstream(opts).then((u) => serveParent(u.server, u.setStreamMs), failToParent);
}
