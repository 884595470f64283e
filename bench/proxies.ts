/**
 * The servers under test, one per child process: a bare Express + http-proxy-middleware
 * passthrough (the floor of this architecture) or Express + `aiProxy` for one `llama2_format`.
 * Runs as a child process of bench/run.ts (see `main` below).
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { failToParent, serveParent } from './child-ipc';

/** What a proxy child serves. `passthrough` answers on the upstream's own path, aiProxy on /v1/chat/completions. */
export type ProxyKind = 'passthrough' | 'ollama' | 'raw' | 'openai';

export interface ProxyOptions {
  kind: ProxyKind;
  /** Absolute path of the module exporting `aiProxy` (dist/index.js, a private tsc build, or lib/index.ts under tsx). */
  entry: string;
  upstreamPort: number;
  /** aiProxy's upstream agent: its built-in default, or keepAlive + maxSockets Infinity. */
  agent: 'default' | 'unbounded';
}

/** Path a client requests on a proxy of this kind. */
export function clientPath(kind: ProxyKind): string {
  return kind === 'passthrough' ? '/api/chat' : '/v1/chat/completions';
}

const UPSTREAM_PATH: Record<Exclude<ProxyKind, 'passthrough'>, string> = {
  ollama: '/api/chat',
  raw: '/generate',
  openai: '/v1/chat/completions',
};

type AiProxy = typeof import('../lib/index')['aiProxy'];

function loadAiProxy(entry: string): AiProxy {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the entry (lib/ sources or built dist/) is chosen at run time and buildApp is synchronous
  return (require(entry) as { aiProxy: AiProxy }).aiProxy;
}

/** Builds the Express app for `opts` (exported so that a test or a profile can run it in-process). */
export function buildApp(opts: ProxyOptions): express.Express {
  const app = express();
  const upstream = `http://127.0.0.1:${opts.upstreamPort}`;
  if (opts.kind === 'passthrough') {
    app.post(
      clientPath('passthrough'),
      createProxyMiddleware({ target: upstream, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }),
    );
    return app;
  }
  const aiProxy = loadAiProxy(opts.entry);
  app.post(
    clientPath(opts.kind),
    aiProxy({
      route_type: 'llm/v1/chat',
      model: {
        provider: 'llama2',
        name: 'llama2',
        options: { llama2_format: opts.kind, upstream_url: upstream + UPSTREAM_PATH[opts.kind] },
      },
      ...(opts.agent === 'unbounded' ? { agent: new http.Agent({ keepAlive: true, maxSockets: Infinity }) } : {}),
    }),
  );
  return app;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as ProxyOptions;
  const server = http.createServer(buildApp(opts));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveParent(server);
}

if (require.main === module) main().catch(failToParent);
