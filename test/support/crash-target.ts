/**
 * The proxy as a host app runs it, in a process of its own, for the crash test: an Express app with
 * routes onto a hostile upstream (test/support/hostile-upstream.ts) and a closed port, statistics on
 * with payloads and hooks that throw and reject. Node's defaults are kept: an uncaught exception or
 * an unhandled rejection ends this process. Prints `{"url": ...}` on one line once listening.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { aiProxy, type AiProxyConfig } from '../../lib';
import { startHostileUpstream } from './hostile-upstream';
import { llama2Config } from './proxy-app';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function main(): Promise<void> {
  const upstream = await startHostileUpstream();
  const dead = `http://127.0.0.1:${await closedPort()}/api/chat`;
  const chat = `${upstream.url}/api/chat`;
  const common: Partial<AiProxyConfig> = {
    upstream_timeout: 300,
    request_body_timeout: 300,
    max_request_body_size: 256 * 1024,
    logging: {
      log_statistics: true,
      log_payloads: true,
      on_statistics: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('the metrics backend rejected the report');
      },
    },
  };
  const routes = (app: express.Express) => {
    app.use('/any', aiProxy(llama2Config('chat', 'ollama', chat, { ...common, name: null })));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${upstream.url}/v1/chat/completions`, { ...common, name: null })));
    app.use('/raw', aiProxy(llama2Config('chat', 'raw', `${upstream.url}/generate`, { ...common, name: null })));
    app.use('/dead', aiProxy(llama2Config('chat', 'ollama', dead, { ...common, name: null })));
    app.use(
      '/throwing-hook',
      aiProxy(
        llama2Config('chat', 'ollama', chat, {
          name: null,
          logging: {
            log_statistics: true,
            on_statistics: () => {
              throw new Error('hook bug');
            },
          },
        }),
      ),
    );
    app.use(
      '/keyed',
      aiProxy(
        llama2Config('completions', 'ollama', `${upstream.url}/api/generate`, {
          ...common,
          name: null,
          auth: { param_name: 'key', param_value: 'k', param_location: 'query', allow_override: true },
        }),
      ),
    );
  };
  const app = express();
  routes(app);
  const parsed = express.Router();
  parsed.use(express.json({ limit: '10mb' }));
  routes(parsed as unknown as express.Express);
  app.use('/parsed', parsed);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
}

void main();
