/**
 * Answers and errors read the same whichever path they take (issue 9): every answer, streamed or
 * not, in every format, carries the route's model name (the one X-LLM-Model reports), never the
 * server's (llama.cpp's is a file path), and the proxy's own id; the same upstream error gets the
 * same type and code in a JSON answer and in a stream error event, with the known kinds mapped to
 * OpenAI's codes and a number never used as a code.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy, type Llama2Format } from '../../lib';
import { post, sseData } from '../support/http-client';
import { LLAMACPP_MODEL_PATH } from '../support/openai-server';
import { llama2Config, startApp, type ProxyApp } from '../support/proxy-app';
import { type FakeUpstream, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

const NAME = 'team-llama';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let llamaV1: FakeUpstream;
let proxy: ProxyApp;

interface Target {
  name: string;
  format: Llama2Format;
  upstream: () => FakeUpstream;
  chat: string;
  completions: string;
}

const targets: Target[] = [
  { name: 'ollama', format: 'ollama', upstream: () => ollama, chat: '/api/chat', completions: '/api/generate' },
  { name: 'tgi', format: 'raw', upstream: () => tgi, chat: '/generate', completions: '/generate' },
  { name: 'llamacpp', format: 'raw', upstream: () => llama, chat: '/completion', completions: '/completion' },
  { name: 'openai', format: 'openai', upstream: () => openai, chat: '/v1/chat/completions', completions: '/v1/completions' },
  { name: 'llamacpp-v1', format: 'openai', upstream: () => llamaV1, chat: '/v1/chat/completions', completions: '/v1/completions' },
];

before(async () => {
  [ollama, tgi, llama, openai, llamaV1] = await Promise.all([startOllama(), startTgi(), startLlamaCpp(), startOpenAi(), startOpenAi({ llamacpp: true })]);
  proxy = await startApp((app) => {
    for (const t of targets) {
      const u = t.upstream().url;
      app.use(`/${t.name}/chat`, aiProxy(llama2Config('chat', t.format, u + t.chat, { name: NAME })));
      app.use(`/${t.name}/completions`, aiProxy(llama2Config('completions', t.format, u + t.completions, { name: NAME })));
    }
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai, llamaV1].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai, llamaV1].forEach((s) => s.reset()));

const bodyFor = (kind: 'chat' | 'completions', extra: Record<string, unknown> = {}) =>
  kind === 'chat' ? { messages: [{ role: 'user', content: 'What is 1 + 2?' }], ...extra } : { prompt: 'What is 1 + 2?', ...extra };

describe("the route's model name and the proxy's id on every path", () => {
  for (const t of targets) {
    for (const kind of ['chat', 'completions'] as const) {
      test(`${t.name} ${kind}: JSON and stream`, async () => {
        // The server names the model its own way (llama.cpp: the file path it loaded).
        if (t.name !== 'llamacpp-v1') t.upstream().set({ model: LLAMACPP_MODEL_PATH });
        const prefix = kind === 'chat' ? /^chatcmpl-/ : /^cmpl-/;
        const r = await post(`${proxy.url}/${t.name}/${kind}`, bodyFor(kind));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('x-llm-model'), `llama2/${NAME}`);
        assert.equal(r.json.model, NAME);
        assert.match(r.json.id, prefix);
        assert.doesNotMatch(r.json.id, /fake/, "the upstream's id");
        assert.ok(!r.text.includes('.gguf'), 'a server path leaked');

        const s = await post(`${proxy.url}/${t.name}/${kind}`, bodyFor(kind, { stream: true, stream_options: { include_usage: true } }));
        assert.equal(s.status, 200, s.text);
        assert.equal(s.headers.get('x-llm-model'), `llama2/${NAME}`);
        const frames = sseData(s.text);
        assert.equal(frames.at(-1), '[DONE]');
        const chunks = frames.slice(0, -1);
        assert.deepEqual([...new Set(chunks.map((c) => c.model))], [NAME]);
        assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
        assert.match(chunks[0].id, prefix);
        assert.ok(!s.text.includes('.gguf'), 'a server path leaked');
      });
    }
  }
});

describe('the same upstream error, JSON or stream event: one type, one code', () => {
  const streamError = (text: string) => {
    const frames = sseData(text);
    assert.ok(!frames.includes('[DONE]'));
    return frames.at(-1).error as { message: string; type: string; code: string | null };
  };

  test("llama.cpp's 500 (integer code): api_error, code null, in both", async () => {
    llamaV1.set({ fault: { kind: 'status', status: 500, body: { error: { code: 500, message: 'slot crashed', type: 'server_error' } } } });
    const r = await post(`${proxy.url}/llamacpp-v1/chat`, bodyFor('chat'));
    assert.equal(r.status, 500);
    assert.deepEqual({ type: r.json.error.type, code: r.json.error.code }, { type: 'api_error', code: null });
    llamaV1.set({ fault: { kind: 'stream-error', message: 'slot crashed' } });
    const e = streamError((await post(`${proxy.url}/llamacpp-v1/chat`, bodyFor('chat', { stream: true }))).text);
    assert.deepEqual({ message: e.message, type: e.type, code: e.code }, { message: 'slot crashed', type: 'api_error', code: null });
  });

  test('the same on the raw route to llama.cpp', async () => {
    llama.set({ fault: { kind: 'status', status: 500, body: { error: { code: 500, message: 'slot crashed', type: 'server_error' } } } });
    const r = await post(`${proxy.url}/llamacpp/chat`, bodyFor('chat'));
    assert.deepEqual({ status: r.status, type: r.json.error.type, code: r.json.error.code }, { status: 500, type: 'api_error', code: null });
    llama.set({ fault: { kind: 'stream-error', message: 'slot crashed' } });
    const e = streamError((await post(`${proxy.url}/llamacpp/chat`, bodyFor('chat', { stream: true }))).text);
    assert.deepEqual({ type: e.type, code: e.code }, { type: 'api_error', code: null });
  });

  test('context overflow: context_length_exceeded, JSON (llama.cpp, both routes) and in a stream', async () => {
    const overflow = {
      error: {
        code: 400,
        message: 'request (608 tokens) exceeds the available context size (512 tokens), try increasing it',
        type: 'exceed_context_size_error',
        n_prompt_tokens: 608,
        n_ctx: 512,
      },
    };
    for (const [route, upstream] of [
      ['llamacpp', llama],
      ['llamacpp-v1', llamaV1],
    ] as const) {
      upstream.set({ fault: { kind: 'status', status: 400, body: overflow } });
      for (const stream of [false, true]) {
        const r = await post(`${proxy.url}/${route}/chat`, bodyFor('chat', { stream }));
        assert.equal(r.status, 400, r.text);
        assert.deepEqual(r.json.error, { message: overflow.error.message, type: 'invalid_request_error', param: null, code: 'context_length_exceeded' });
      }
    }
    // Mid-stream, when concurrent answers fill the shared context.
    llama.set({ fault: { kind: 'stream-error', message: 'Context size has been exceeded.' } });
    const e = streamError((await post(`${proxy.url}/llamacpp/chat`, bodyFor('chat', { stream: true }))).text);
    assert.deepEqual({ type: e.type, code: e.code }, { type: 'invalid_request_error', code: 'context_length_exceeded' });
  });

  test('model not found: model_not_found from Ollama and an OpenAI-compatible server', async () => {
    ollama.set({ fault: { kind: 'status', status: 404, body: { error: "model 'team-llama' not found" } } });
    const o = await post(`${proxy.url}/ollama/chat`, bodyFor('chat'));
    assert.deepEqual(
      { status: o.status, type: o.json.error.type, code: o.json.error.code },
      { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
    );
    openai.set({
      fault: {
        kind: 'status',
        status: 404,
        body: { object: 'error', message: 'The model `team-llama` does not exist.', type: 'NotFoundError', param: null, code: 404 },
      },
    });
    const v = await post(`${proxy.url}/openai/chat`, bodyFor('chat'));
    assert.deepEqual(
      { status: v.status, type: v.json.error.type, code: v.json.error.code },
      { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
    );
  });

  test('busy: server_overloaded, with the status kept (TGI 429, Ollama 503), JSON and stream', async () => {
    tgi.set({ fault: { kind: 'status', status: 429, body: { error: 'Model is overloaded', error_type: 'overloaded' } } });
    const t = await post(`${proxy.url}/tgi/chat`, bodyFor('chat'));
    assert.deepEqual(
      { status: t.status, type: t.json.error.type, code: t.json.error.code },
      { status: 429, type: 'rate_limit_error', code: 'server_overloaded' },
    );
    ollama.set({ fault: { kind: 'status', status: 503, body: { error: 'server busy, please try again.  maximum pending requests exceeded' } } });
    const o = await post(`${proxy.url}/ollama/chat`, bodyFor('chat', { stream: true }));
    assert.deepEqual({ status: o.status, type: o.json.error.type, code: o.json.error.code }, { status: 503, type: 'api_error', code: 'server_overloaded' });
  });
});

describe('llama.cpp closes the connection after every stream', () => {
  for (const route of ['llamacpp', 'llamacpp-v1']) {
    test(`${route}: 40 back-to-back streamed requests, all answered`, async () => {
      const upstream = route === 'llamacpp' ? llama : llamaV1;
      for (let i = 0; i < 40; i++) {
        const r = await post(`${proxy.url}/${route}/chat`, bodyFor('chat', { stream: true }));
        assert.equal(r.status, 200, `request ${i}: ${r.text.slice(0, 200)}`);
        assert.equal(sseData(r.text).at(-1), '[DONE]');
      }
      assert.ok(upstream.dropped > 0, 'the race never happened');
    });
  }
});
