/**
 * A real Express 5 app with `aiProxy` mounted, listening on 127.0.0.1:0, for e2e tests.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { AiProxyConfig, Llama2Format, ModelOptions, RouteType } from '../../lib';
import type { HttpResult } from './http-client';

export interface ProxyApp {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  app: Express;
  close(): Promise<void>;
}

/** Start an Express app set up by `setup` (mount the proxies there). */
export async function startApp(setup: (app: Express) => void): Promise<ProxyApp> {
  const app = express();
  setup(app);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Everything of a config besides route, format and upstream, plus the model options to add. */
export type ConfigExtras = Omit<Partial<AiProxyConfig>, 'model'> & { name?: string | null; options?: ModelOptions };

/**
 * A llama2 config in Kong's field names. The model name defaults to `llama2`; pass `name: null`
 * for a config without one.
 */
export function llama2Config(route: 'chat' | 'completions', format: Llama2Format, upstreamUrl: string, extras: ConfigExtras = {}): AiProxyConfig {
  const { name = 'llama2', options, ...rest } = extras;
  const route_type: RouteType = route === 'chat' ? 'llm/v1/chat' : 'llm/v1/completions';
  return {
    route_type,
    model: {
      provider: 'llama2',
      ...(name === null ? {} : { name }),
      options: { llama2_format: format, upstream_url: upstreamUrl, ...options },
    },
    ...rest,
  };
}

/** A small chat body. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { messages: [{ role: 'user', content: 'What is 1 + 2?' }], ...extra };
}

/** A small completions body. */
export function completionsBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { prompt: 'What is 1 + 2?', ...extra };
}

/**
 * Asserts an answer is an OpenAI-shaped error `{"error":{"message","type","code"}}` with this
 * status (and message, when given); returns the error object.
 */
export function assertOpenAiError(
  r: HttpResult,
  status: number,
  message?: string | RegExp,
): { message: string; type: string; code: string | null; param?: string | null } {
  assert.equal(r.status, status, `expected HTTP ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const e = r.json?.error;
  assert.ok(e && typeof e === 'object', `no error object in ${r.text.slice(0, 300)}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok('code' in e, 'error.code is missing');
  assert.ok(e.code === null || typeof e.code === 'string', 'error.code must be a string or null');
  if (typeof message === 'string') assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
  return e;
}
