/**
 * An app with many routes: each answers from its own upstream, and Node warns of no listener leak
 * (http-proxy-middleware adds a server `close` listener per instance; routes share instances).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama } from '../support/upstreams';

const ROUTES = 15;
let upstreams: FakeUpstream[];
let proxy: ProxyApp;
const warnings: string[] = [];
const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);

before(async () => {
  process.on('warning', onWarning);
  upstreams = await Promise.all(Array.from({ length: 3 }, () => startOllama()));
  proxy = await startApp((app) => {
    for (let i = 0; i < ROUTES; i++) {
      const upstream = upstreams[i % upstreams.length]!;
      app.use(`/model-${i}`, aiProxy(llama2Config('chat', 'ollama', `${upstream.url}/api/chat`, { name: `model-${i}` })));
    }
  });
});

after(async () => {
  process.off('warning', onWarning);
  await proxy.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

test(`${ROUTES} routes on one server each reach their own upstream, with no MaxListeners warning`, async () => {
  for (let i = 0; i < ROUTES; i++) {
    const r = await post(`${proxy.url}/model-${i}`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-llm-model'), `llama2/model-${i}`);
    assert.equal(upstreams[i % upstreams.length]!.last()?.body.model, `model-${i}`);
  }
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    warnings.filter((w) => w.includes('MaxListeners')),
    [],
  );
});
