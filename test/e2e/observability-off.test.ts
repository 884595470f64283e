/**
 * With no integration switched on, the optional peers (prom-client, @opentelemetry/api) are never
 * loaded, even after JSON and streamed answers; switching one on loads it (the check can fail).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy, aiProxyMetrics } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;

const loaded = (name: string) => Object.keys(require.cache).some((file) => file.includes(`/node_modules/${name}/`));

before(async () => {
  ollama = await startOllama();
  proxy = await startApp((app) => {
    app.use('/plain', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { logging: { log_statistics: true, on_statistics: () => undefined } })));
  });
});

after(async () => {
  await proxy.close();
  await ollama.close();
});

test('requests without metrics or tracing load neither prom-client nor @opentelemetry/api', async () => {
  assert.equal((await post(`${proxy.url}/plain`, chatBody())).status, 200);
  assert.equal((await post(`${proxy.url}/plain`, chatBody({ stream: true }))).status, 200);
  assert.equal((await post(`${proxy.url}/plain`, { messages: 1 })).status, 400);
  assert.equal(loaded('prom-client'), false);
  assert.equal(loaded('@opentelemetry/api'), false);
});

test('turning them on loads them', () => {
  aiProxyMetrics();
  assert.equal(loaded('prom-client'), true);
  aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { observability: { tracing: true } }));
  assert.equal(loaded('@opentelemetry/api'), true);
});
