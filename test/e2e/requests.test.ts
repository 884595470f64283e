/**
 * What the middleware does with the client's request before any upstream answer: method, body
 * parsing and limits, route-shape checks, the model rule and tuning options. Every rejection is
 * OpenAI's error shape and never reaches the upstream.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama, startTgi } from '../support/upstreams';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let proxy: ProxyApp;
let parsed: ProxyApp;

before(async () => {
  [ollama, tgi] = await Promise.all([startOllama(), startTgi()]);
  const chat = `${ollama.url}/api/chat`;
  proxy = await startApp((app) => {
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', chat)));
    app.get('/chat', (_req, res) => {
      res.send('the next route');
    });
    app.use('/completions', aiProxy(llama2Config('completions', 'ollama', `${ollama.url}/api/generate`)));
    app.use('/small', aiProxy(llama2Config('chat', 'ollama', chat, { max_request_body_size: 200 })));
    app.use('/any-model', aiProxy(llama2Config('chat', 'ollama', chat, { name: null })));
    app.use('/tuned', aiProxy(llama2Config('chat', 'ollama', chat, { options: { max_tokens: 32, temperature: 0.2 } })));
    app.use('/tgi-top-p-1', aiProxy(llama2Config('chat', 'raw', `${tgi.url}/generate`, { options: { top_p: 1 } })));
  });
  // A host app that parses JSON itself before the proxy.
  parsed = await startApp((app) => {
    app.use(express.json({ limit: '1mb' }));
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', chat)));
    app.use('/small', aiProxy(llama2Config('chat', 'ollama', chat, { max_request_body_size: 200 })));
  });
});
after(() => Promise.all([proxy, parsed, ollama, tgi].map((s) => s.close())));
beforeEach(() => [ollama, tgi].forEach((s) => s.reset()));

describe('method', () => {
  test('GET is passed to the next handler', async () => {
    const r = await post(`${proxy.url}/chat`, undefined, { method: 'GET' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'the next route');
    assert.equal(ollama.requests.length, 0);
  });

  test('GET with no later route gets the host app 404, not a proxy answer', async () => {
    const r = await post(`${proxy.url}/completions`, undefined, { method: 'GET' });
    assert.equal(r.status, 404);
    assert.equal(ollama.requests.length, 0);
  });

  test('POST to any path under the mount is handled', async () => {
    const r = await post(`${proxy.url}/chat/v1/chat/completions`, chatBody());
    assert.equal(r.status, 200, r.text);
  });
});

describe('body', () => {
  test('malformed JSON → 400', async () => {
    const r = await post(`${proxy.url}/chat`, undefined, { raw: '{"messages": [' });
    const e = assertOpenAiError(r, 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(ollama.requests.length, 0);
  });

  test('an empty body or a non-object → 400', async () => {
    assertOpenAiError(await post(`${proxy.url}/chat`, undefined, { raw: '' }), 400);
    assertOpenAiError(await post(`${proxy.url}/chat`, undefined, { raw: '[1,2]' }), 400);
    assertOpenAiError(await post(`${proxy.url}/chat`, undefined, { raw: '"text"' }), 400);
    assert.equal(ollama.requests.length, 0);
  });

  test('a body over max_request_body_size → 413', async () => {
    const big = chatBody({ messages: [{ role: 'user', content: 'x'.repeat(500) }] });
    assertOpenAiError(await post(`${proxy.url}/small`, big), 413, /max_request_body_size|larger/);
    const ok = await post(`${proxy.url}/small`, chatBody());
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ollama.requests.length, 1);
  });

  test('a chunked body (no content-length) over the limit → 413 too', async () => {
    const big = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await fetch(`${proxy.url}/small`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'request_too_large');
  });

  test('express.json() mounted before the proxy: still works', async () => {
    const r = await post(`${parsed.url}/chat`, chatBody({ max_tokens: 10 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'The sum of 1 + 2 is 3.');
    assert.equal(ollama.last().body.options.num_predict, 10);
    assert.deepEqual(ollama.last().body.messages, [{ role: 'user', content: 'What is 1 + 2?' }]);
  });

  test('express.json() before the proxy: the size limit still holds', async () => {
    const big = chatBody({ messages: [{ role: 'user', content: 'x'.repeat(500) }] });
    assertOpenAiError(await post(`${parsed.url}/small`, big), 413);
    assert.equal(ollama.requests.length, 0);
  });
});

describe('route shape', () => {
  test('chat without messages, with an empty array, or with a bad message → 400 naming "messages"', async () => {
    for (const body of [{}, { messages: [] }, { messages: 'hi' }, { messages: [{ content: 'no role' }] }, { prompt: 'hi' }]) {
      assertOpenAiError(await post(`${proxy.url}/chat`, body), 400, /messages/);
    }
    assert.equal(ollama.requests.length, 0);
  });

  test('completions without a string prompt → 400 naming "prompt"', async () => {
    for (const body of [{}, { prompt: 5 }, { prompt: null }, { messages: [{ role: 'user', content: 'hi' }] }]) {
      assertOpenAiError(await post(`${proxy.url}/completions`, body), 400, /prompt/);
    }
    assert.equal(ollama.requests.length, 0);
  });

  test('both messages and prompt → 400', async () => {
    const both = { messages: [{ role: 'user', content: 'hi' }], prompt: 'hi' };
    assertOpenAiError(await post(`${proxy.url}/chat`, both), 400, /messages/);
    assertOpenAiError(await post(`${proxy.url}/completions`, both), 400, /prompt/);
    assert.equal(ollama.requests.length, 0);
  });

  test('out-of-range tuning from the client → 400', async () => {
    assertOpenAiError(await post(`${proxy.url}/chat`, chatBody({ temperature: 'hot' })), 400, /temperature/);
    assertOpenAiError(await post(`${proxy.url}/chat`, chatBody({ max_tokens: -1 })), 400, /max_tokens/);
    assert.equal(ollama.requests.length, 0);
  });
});

describe('model', () => {
  test('a model in the body that differs from the configured name → 400', async () => {
    const r = await post(`${proxy.url}/chat`, chatBody({ model: 'gpt-4' }));
    assertOpenAiError(r, 400, 'cannot use own model - must be: llama2');
    assert.equal(ollama.requests.length, 0);
  });

  test('the configured name itself in the body is accepted', async () => {
    const r = await post(`${proxy.url}/chat`, chatBody({ model: 'llama2' }));
    assert.equal(r.status, 200, r.text);
  });

  test('no configured name: the body model is sent upstream and named in X-LLM-Model', async () => {
    const r = await post(`${proxy.url}/any-model`, chatBody({ model: 'llama2:13b' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(ollama.last().body.model, 'llama2:13b');
    assert.equal(r.headers.get('x-llm-model'), 'llama2/llama2:13b');
  });

  test('no model anywhere → 400', async () => {
    assertOpenAiError(await post(`${proxy.url}/any-model`, chatBody()), 400, /model/);
    assert.equal(ollama.requests.length, 0);
  });
});

describe('tuning', () => {
  test('config options override the request; unset ones come from the request', async () => {
    const r = await post(`${proxy.url}/tuned`, chatBody({ max_tokens: 999, temperature: 0.9, top_p: 0.5, top_k: 7, stop: '###' }));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ollama.last().body.options, { num_predict: 32, temperature: 0.2, top_p: 0.5, top_k: 7, stop: ['###'] });
  });

  test('nothing set anywhere: no tuning sent', async () => {
    await post(`${proxy.url}/chat`, chatBody());
    assert.deepEqual(ollama.last().body.options ?? {}, {});
  });

  test('TGI: config top_p 1 wins over the request and is not sent (TGI would answer 422)', async () => {
    const r = await post(`${proxy.url}/tgi-top-p-1`, chatBody({ top_p: 0.5 }));
    assert.equal(r.status, 200, r.text);
    assert.equal('top_p' in tgi.last().body.parameters, false);
  });
});
