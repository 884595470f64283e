/**
 * The official `openai` client pointed at the proxy: chat.completions.create and
 * completions.create work for every llama2_format, streamed and not, and failures surface as the
 * SDK's APIError with the right status.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { aiProxy, type Llama2Format } from '../../lib';
import { type ProxyApp, llama2Config, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;

interface Target {
  name: string;
  format: Llama2Format;
  upstream: () => FakeUpstream;
  chatPath: string;
  completionsPath: string;
}

const targets: Target[] = [
  { name: 'ollama', format: 'ollama', upstream: () => ollama, chatPath: '/api/chat', completionsPath: '/api/generate' },
  { name: 'tgi', format: 'raw', upstream: () => tgi, chatPath: '/generate', completionsPath: '/generate' },
  { name: 'hf', format: 'raw', upstream: () => tgi, chatPath: '/', completionsPath: '/' },
  { name: 'llamacpp', format: 'raw', upstream: () => llama, chatPath: '/completion', completionsPath: '/completion' },
  { name: 'openai', format: 'openai', upstream: () => openai, chatPath: '/v1/chat/completions', completionsPath: '/v1/completions' },
];

/** A client for the mount `/<name>/v1`: the SDK appends /chat/completions or /completions. */
function client(name: string): OpenAI {
  return new OpenAI({ baseURL: `${proxy.url}/${name}/v1`, apiKey: 'x', maxRetries: 0, timeout: 5000 });
}

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama(), startTgi(), startLlamaCpp(), startOpenAi()]);
  proxy = await startApp((app) => {
    for (const t of targets) {
      const u = t.upstream().url;
      app.use(`/${t.name}/v1/chat/completions`, aiProxy(llama2Config('chat', t.format, u + t.chatPath)));
      app.use(`/${t.name}/v1/completions`, aiProxy(llama2Config('completions', t.format, u + t.completionsPath)));
    }
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

for (const t of targets) {
  describe(`${t.name} (${t.format} → ${t.chatPath})`, () => {
    test('chat.completions.create', async () => {
      const c = await client(t.name).chat.completions.create({
        model: 'llama2',
        messages: [{ role: 'user', content: 'What is 1 + 2?' }],
        max_tokens: 20,
      });
      assert.equal(c.object, 'chat.completion');
      assert.equal(c.choices[0]?.message.role, 'assistant');
      assert.equal(c.choices[0]?.message.content, DEFAULT_TEXT);
      assert.equal(c.choices[0]?.finish_reason, 'stop');
      assert.ok((c.usage?.completion_tokens ?? 0) > 0);
      assert.equal(t.upstream().last().path, t.chatPath);
    });

    test('completions.create', async () => {
      const c = await client(t.name).completions.create({ model: 'llama2', prompt: 'What is 1 + 2?', max_tokens: 20 });
      assert.equal(c.object, 'text_completion');
      assert.equal(c.choices[0]?.text, DEFAULT_TEXT);
      assert.equal(t.upstream().last().path, t.completionsPath);
    });

    test('chat.completions.create with stream: true', async () => {
      const stream = await client(t.name).chat.completions.create({
        model: 'llama2',
        messages: [{ role: 'user', content: 'What is 1 + 2?' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null | undefined;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, DEFAULT_TEXT);
      assert.equal(finish, 'stop');
      assert.ok((usage?.completion_tokens ?? 0) > 0, 'a usage chunk was asked for');
    });

    test('completions.create with stream: true', async () => {
      const stream = await client(t.name).completions.create({ model: 'llama2', prompt: 'What is 1 + 2?', stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      assert.equal(text, DEFAULT_TEXT);
    });
  });
}

describe('errors surface as APIError with the status', () => {
  test('a model other than the configured one → 400', async () => {
    await assert.rejects(client('ollama').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof APIError);
      assert.equal(err.status, 400);
      assert.match(err.message, /cannot use own model - must be: llama2/);
      return true;
    });
  });

  test('an upstream 429 → RateLimitError', async () => {
    openai.set({ fault: { kind: 'status', status: 429, body: { error: { message: 'slow down', type: 'requests', param: null, code: null } } } });
    await assert.rejects(client('openai').completions.create({ model: 'llama2', prompt: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.match(err.message, /slow down/);
      return true;
    });
  });

  test('a connection reset by the upstream → 502', async () => {
    llama.set({ fault: { kind: 'reset' } });
    await assert.rejects(client('llamacpp').completions.create({ model: 'llama2', prompt: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof APIError);
      assert.equal(err.status, 502);
      return true;
    });
  });

  test('an upstream dying mid-stream → APIError while iterating', async () => {
    ollama.set({ fault: { kind: 'die', afterChunks: 2 } });
    const stream = await client('ollama').chat.completions.create({
      model: 'llama2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
      (err: unknown) => err instanceof APIError,
    );
    assert.equal(text, 'The sum');
  });

  test('an error line inside a 200 Ollama stream → APIError carrying its message', async () => {
    ollama.set({ fault: { kind: 'stream-error', afterChunks: 1, message: 'model ran out of memory' } });
    const stream = await client('ollama').completions.create({ model: 'llama2', prompt: 'hi', stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (err: unknown) => {
        assert.ok(err instanceof APIError);
        assert.match(err.message, /model ran out of memory/);
        return true;
      },
    );
  });
});
