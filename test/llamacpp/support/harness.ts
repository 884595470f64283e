/**
 * The llama.cpp suite's setup: one real `llama-server`, and an Express app with express-ai-proxy
 * routes to it in both formats, mounted as the openai SDK expects (`/<format>/v1/chat/completions`,
 * `/<format>/v1/completions`):
 * - `raw`: llama.cpp's own `/completion` (the proxy renders the Llama 2 prompt);
 * - `openai`: llama.cpp's `/v1/chat/completions` and `/v1/completions` (the server renders it).
 * A recording pass-through (`/rec-raw/...`) shows exactly what the proxy sent upstream.
 * Embeddings routes (`/<format>/v1/embeddings`: `raw` to `/embedding`, `openai` to `/v1/embeddings`)
 * answer when the server was started with `--embeddings` (`startHarness(['--embeddings', ...])`).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { aiProxy, type AiProxyConfig } from '../../../lib';
import { llama2Config, startApp, type ProxyApp } from '../../support/proxy-app';
import { startLlamaServer, type LlamaServer } from './llama-server';

/** The route's model name: what every answer and X-LLM-Model must report. */
export const MODEL = 'llama2-tiny';

export type Format = 'raw' | 'openai';
export type Kind = 'chat' | 'completions';

export interface Harness {
  server: LlamaServer;
  proxy: ProxyApp;
  /** Bodies the proxy sent through the recording pass-through, in order. */
  recorded: string[];
  /** The proxy URL of a route. */
  route(format: Format | 'rec-raw', kind: Kind): string;
  /** The official openai client for a format's mount. */
  client(format: Format): OpenAI;
  /** POST JSON straight to the llama.cpp server. */
  direct(path: string, body: unknown): Promise<any>;
  close(): Promise<void>;
}

/** Forwards every request to `target`, recording the request bodies. */
async function startRecorder(target: string, recorded: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      recorded.push(body.toString('utf8'));
      const up = http.request(
        `${target}${req.url}`,
        { method: req.method, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, { 'content-type': upRes.headers['content-type'] ?? 'application/json', connection: 'close' });
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function embeddingsConfig(format: Format, upstreamUrl: string): AiProxyConfig {
  return { route_type: 'llm/v1/embeddings', model: { provider: 'llama2', name: MODEL, options: { llama2_format: format, upstream_url: upstreamUrl } } };
}

/** Starts llama-server with `serverArgs` on top of the suite's own, and the proxy in front of it. */
export async function startHarness(serverArgs: string[] = []): Promise<Harness> {
  const server = await startLlamaServer(serverArgs);
  const recorded: string[] = [];
  const recorder = await startRecorder(server.url, recorded);
  const name = MODEL;
  const proxy = await startApp((app) => {
    app.use('/raw/v1/chat/completions', aiProxy(llama2Config('chat', 'raw', `${server.url}/completion`, { name })));
    app.use('/raw/v1/completions', aiProxy(llama2Config('completions', 'raw', `${server.url}/completion`, { name })));
    app.use('/openai/v1/chat/completions', aiProxy(llama2Config('chat', 'openai', `${server.url}/v1/chat/completions`, { name })));
    app.use('/openai/v1/completions', aiProxy(llama2Config('completions', 'openai', `${server.url}/v1/completions`, { name })));
    app.use('/rec-raw/v1/chat/completions', aiProxy(llama2Config('chat', 'raw', `${recorder.url}/completion`, { name })));
    app.use('/rec-raw/v1/completions', aiProxy(llama2Config('completions', 'raw', `${recorder.url}/completion`, { name })));
    app.use('/raw/v1/embeddings', aiProxy(embeddingsConfig('raw', `${server.url}/embedding`)));
    app.use('/openai/v1/embeddings', aiProxy(embeddingsConfig('openai', `${server.url}/v1/embeddings`)));
  });
  return {
    server,
    proxy,
    recorded,
    route: (format, kind) => `${proxy.url}/${format}/v1/${kind === 'chat' ? 'chat/completions' : 'completions'}`,
    client: (format) => new OpenAI({ baseURL: `${proxy.url}/${format}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 }),
    async direct(path, body) {
      const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return r.json();
    },
    async close() {
      await proxy.close();
      await recorder.close();
      await server.stop();
    },
  };
}

/** The server's `/tokenize` of a text. */
export async function tokenize(h: Harness, content: string, addSpecial: boolean): Promise<number[]> {
  return (await h.direct('/tokenize', { content, add_special: addSpecial })).tokens;
}
