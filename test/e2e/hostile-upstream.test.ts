/**
 * Upstream statuses and framing the proxy cannot or must not relay: anything but a final
 * 2xx/4xx/5xx answer becomes a 502 (never a crash, a hang, or a redirect handed to the client);
 * headers built from upstream data are made safe. The follow-up request proves the proxy still serves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { MAX_HEADER_VALUE_LENGTH } from '../../lib/headers/header-value';
import { type HostileUpstream, startHostileUpstream } from '../support/hostile-upstream';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';

let upstream: HostileUpstream;
let proxy: ProxyApp;

before(async () => {
  upstream = await startHostileUpstream();
  proxy = await startApp((app) => {
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', `${upstream.url}/api/chat`, { name: null, upstream_timeout: 500 })));
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

async function stillServes(): Promise<void> {
  for (const stream of [false, true]) {
    const r = await post(`${proxy.url}/chat`, chatBody({ model: 'llama2', stream }));
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"ok"/);
  }
}

describe('upstream statuses that cannot be relayed become 502', () => {
  const refused: Array<[string, number | string]> = [
    ['status-099', 99],
    ['status-000', 0],
    ['status-101', 101],
    ['status-101-no-upgrade', 101],
    ['status-302', 302],
    ['status-304', 304],
    ['status-307', 307],
    ['status-600', 600],
    ['status-999', 999],
  ];
  for (const [model, status] of refused) {
    for (const stream of [false, true]) {
      test(`${model}${stream ? ', streamed' : ''}`, async () => {
        const r = await post(`${proxy.url}/chat`, chatBody({ model, stream }), { timeoutMs: 3000 });
        const e = assertOpenAiError(r, 502, `the upstream answered with HTTP status ${status}, which is not a final answer the proxy can relay`);
        assert.equal(e.type, 'api_error');
        assert.equal(e.code, 'bad_upstream_status');
        assert.equal(r.headers.get('location'), null);
        assert.equal(r.headers.get('x-llm-model'), `llama2/${model}`);
        await stillServes();
      });
    }
  }

  test('an answer that is not HTTP, broken framing, or an interim 1xx with nothing after it is a 502', async () => {
    for (const model of ['status-199', 'bad-content-length', 'two-content-lengths', 'header-nul', 'not-http', 'empty-close', 'reset']) {
      const r = await post(`${proxy.url}/chat`, chatBody({ model }));
      assert.equal(assertOpenAiError(r, 502).code, 'upstream_unreachable', model);
    }
    await stillServes();
  });
});

describe('interim answers are skipped, the final one relayed', () => {
  for (const model of ['status-100-then-200', 'status-103-then-200']) {
    for (const stream of [false, true]) {
      test(`${model}${stream ? ', streamed' : ''}`, async () => {
        const r = await post(`${proxy.url}/chat`, chatBody({ model, stream }));
        assert.equal(r.status, 200, r.text);
        assert.match(r.text, /"ok"/);
        assert.equal(r.headers.get('link'), null);
      });
    }
  }
});

describe('upstream header values are made safe before they reach the client', () => {
  test('an 8 kB Retry-After is cut to a readable length', async () => {
    const r = await post(`${proxy.url}/chat`, chatBody({ model: 'retry-after-8k' }));
    assertOpenAiError(r, 429);
    assert.equal(r.headers.get('retry-after'), '9'.repeat(MAX_HEADER_VALUE_LENGTH));
  });

  test('a Retry-After with a Latin-1 byte is encoded', async () => {
    const r = await post(`${proxy.url}/chat`, chatBody({ model: 'retry-after-latin1' }));
    assertOpenAiError(r, 503);
    assert.equal(r.headers.get('retry-after'), '10%C3%A9');
  });
});

describe('deep JSON in an upstream answer', () => {
  test('a 100,000-deep answer or error is a clean error, not a crash', async () => {
    const answer = await post(`${proxy.url}/chat`, chatBody({ model: 'deep-json-answer' }));
    assertOpenAiError(answer, 502);
    const error = await post(`${proxy.url}/chat`, chatBody({ model: 'deep-json-error' }));
    assertOpenAiError(error, 500);
    await stillServes();
  });
});
