/**
 * Non-streamed requests whose upstream fails: the client always gets OpenAI's error shape, the
 * upstream's status and own message when it answered, 502 when it could not be read or reached,
 * 504 within upstream_timeout when it hangs; never a hang.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, htmlErrorPage, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

const TIMEOUT_MS = 300;

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let deadUrl: string;
let proxy: ProxyApp;

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama({ models: ['llama2'] }), startTgi(), startLlamaCpp(), startOpenAi()]);
  const dead = await startOllama();
  deadUrl = `${dead.url}/api/chat`;
  await dead.close();
  const t = { upstream_timeout: TIMEOUT_MS, upstream_first_byte_timeout: TIMEOUT_MS };
  proxy = await startApp((app) => {
    app.use('/ollama', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, t)));
    app.use('/ollama-any', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { ...t, name: null })));
    app.use('/tgi', aiProxy(llama2Config('chat', 'raw', `${tgi.url}/generate`, t)));
    app.use('/llamacpp', aiProxy(llama2Config('completions', 'raw', `${llama.url}/completion`, t)));
    app.use('/llamacpp-as-tgi', aiProxy(llama2Config('chat', 'raw', `${llama.url}/completion`, { ...t, options: { raw_dialect: 'tgi' } })));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`, t)));
    app.use('/dead', aiProxy(llama2Config('chat', 'ollama', deadUrl, t)));
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

describe('an upstream non-2xx keeps its status and message', () => {
  test('Ollama 404 for a model it does not have: {error: string}', async () => {
    const r = await post(`${proxy.url}/ollama-any`, chatBody({ model: 'mistral' }));
    const e = assertOpenAiError(r, 404, "model 'mistral' not found");
    // OpenAI's own answer for a model it does not have.
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.code, 'model_not_found');
  });

  test('TGI 422 validation error: {error, error_type}', async () => {
    tgi.set({ fault: { kind: 'status', status: 422, body: { error: 'Input validation error: `top_p` must be > 0.0 and < 1.0', error_type: 'validation' } } });
    assertOpenAiError(await post(`${proxy.url}/tgi`, chatBody()), 422, 'Input validation error: `top_p` must be > 0.0 and < 1.0');
  });

  test('llama.cpp 400: {error: {code: int, message, type}}', async () => {
    const r = await post(`${proxy.url}/llamacpp-as-tgi`, chatBody());
    // A TGI body sent to llama.cpp: llama.cpp's real 400 for a missing prompt.
    assertOpenAiError(r, 400, "[json.exception.out_of_range.403] key 'prompt' not found");
  });

  test('OpenAI-compatible 429 with its error object', async () => {
    openai.set({
      fault: {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': '7' },
        body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
      },
    });
    const r = await post(`${proxy.url}/openai`, chatBody());
    assertOpenAiError(r, 429, 'Rate limit reached');
    assert.equal(r.headers.get('retry-after'), '7');
  });

  test('a plain-text error body becomes the message', async () => {
    tgi.set({ fault: { kind: 'status', status: 503, body: 'Model is currently loading' } });
    const e = assertOpenAiError(await post(`${proxy.url}/tgi`, chatBody()), 503);
    assert.match(e.message, /Model is currently loading/);
  });

  test('an HTML error page is never dumped raw', async () => {
    ollama.set({ fault: htmlErrorPage(502, 'Bad Gateway') });
    const r = await post(`${proxy.url}/ollama`, chatBody());
    const e = assertOpenAiError(r, 502);
    assert.doesNotMatch(e.message, /<html|<body|<center|nginx/i);
  });

  test('an empty error body', async () => {
    llama.set({ fault: { kind: 'status', status: 500, body: '' } });
    const e = assertOpenAiError(await post(`${proxy.url}/llamacpp`, completionsBody()), 500);
    assert.match(e.message, /500/);
  });
});

describe('an upstream that cannot be read or reached', () => {
  test('connection refused → 502', async () => {
    assertOpenAiError(await post(`${proxy.url}/dead`, chatBody()), 502);
  });

  test('connection reset before answering → 502', async () => {
    llama.set({ fault: { kind: 'reset' } });
    assertOpenAiError(await post(`${proxy.url}/llamacpp`, completionsBody()), 502);
  });

  test('connection dropped half-way through the body → 502', async () => {
    openai.set({ fault: { kind: 'die' } });
    assertOpenAiError(await post(`${proxy.url}/openai`, chatBody()), 502);
  });

  test('an unparseable 2xx body → 502', async () => {
    for (const [u, mount, body] of [
      [ollama, '/ollama', chatBody()],
      [tgi, '/tgi', chatBody()],
      [llama, '/llamacpp', completionsBody()],
      [openai, '/openai', chatBody()],
    ] as const) {
      u.set({ fault: { kind: 'garbage' } });
      assertOpenAiError(await post(`${proxy.url}${mount}`, body), 502);
    }
  });

  test('a 2xx JSON body cut short → 502', async () => {
    tgi.set({ fault: { kind: 'truncate' } });
    assertOpenAiError(await post(`${proxy.url}/tgi`, chatBody()), 502);
  });

  test('a 2xx JSON body of the wrong shape → 502', async () => {
    ollama.set({ fault: { kind: 'status', status: 200, body: { hello: 'world' } } });
    assertOpenAiError(await post(`${proxy.url}/ollama`, chatBody()), 502);
  });

  test('an upstream that never answers → 504 within upstream_timeout', async () => {
    ollama.set({ fault: { kind: 'hang' } });
    const started = Date.now();
    const r = await post(`${proxy.url}/ollama`, chatBody(), { timeoutMs: 3000 });
    const elapsed = Date.now() - started;
    assertOpenAiError(r, 504);
    assert.ok(elapsed >= TIMEOUT_MS - 20, `answered after ${elapsed} ms`);
    assert.ok(elapsed < TIMEOUT_MS + 1000, `answered after ${elapsed} ms`);
    // The proxy gave up on the upstream connection.
    assert.equal(await ollama.last().closed, 'client-closed');
  });

  test('an upstream that stalls half-way through the body → 504', async () => {
    llama.set({ fault: { kind: 'hang', afterChunks: 1 } });
    assertOpenAiError(await post(`${proxy.url}/llamacpp`, completionsBody(), { timeoutMs: 3000 }), 504);
  });

  test('a slow upstream within the timeout is fine', async () => {
    openai.set({ responseDelayMs: TIMEOUT_MS / 3 });
    const r = await post(`${proxy.url}/openai`, chatBody());
    assert.equal(r.status, 200, r.text);
  });
});
