/**
 * aiProxyRouter: one baseURL (`app.use('/v1', …)`) serving chat, completions, embeddings, models
 * and health for several models, driven by the openai SDK, LangChain and the AI SDK.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { aiProxyRouter, type AiProxyRouterRoute } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, fakeEmbedding, startOllama, startOpenAi } from '../support/upstreams';

let ollama: FakeUpstream;
let vllm: FakeUpstream;
let proxy: ProxyApp;
let baseURL: string;

function routes(): AiProxyRouterRoute[] {
  const o = (path: string) => ({ llama2_format: 'ollama' as const, upstream_url: `${ollama.url}${path}` });
  return [
    { route_type: 'llm/v1/chat', model: { provider: 'llama2', name: 'llama2', options: o('/api/chat') }, aliases: ['gpt-4o-mini', 'gpt-3.5-turbo'] },
    { route_type: 'llm/v1/completions', model: { provider: 'llama2', name: 'llama2', options: o('/api/generate') }, aliases: ['gpt-3.5-turbo-instruct'] },
    {
      route_type: 'llm/v1/embeddings',
      model: { provider: 'llama2', name: 'nomic-embed-text', options: o('/api/embed') },
      aliases: ['text-embedding-ada-002', 'text-embedding-3-small'],
    },
    {
      route_type: 'llm/v1/chat',
      model: { provider: 'llama2', name: 'mistral', options: { llama2_format: 'openai', upstream_url: `${vllm.url}/v1/chat/completions` } },
    },
  ];
}

before(async () => {
  [ollama, vllm] = await Promise.all([startOllama(), startOpenAi()]);
  proxy = await startApp((app) => {
    app.use('/v1', aiProxyRouter({ routes: routes() }));
  });
  baseURL = `${proxy.url}/v1`;
});
after(() => Promise.all([proxy.close(), ollama.close(), vllm.close()]));

const sdk = () => new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0, timeout: 5000 });

describe('openai SDK through one baseURL', () => {
  test('models.list() lists the models and aliases in OpenAI shape; models.retrieve() finds one', async () => {
    const page = await sdk().models.list();
    assert.deepEqual(
      page.data.map((m) => m.id),
      ['llama2', 'gpt-4o-mini', 'gpt-3.5-turbo', 'gpt-3.5-turbo-instruct', 'nomic-embed-text', 'text-embedding-ada-002', 'text-embedding-3-small', 'mistral'],
    );
    for (const m of page.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.equal(m.owned_by, 'express-ai-proxy');
    }
    assert.equal((await sdk().models.retrieve('mistral')).id, 'mistral');
    await assert.rejects(sdk().models.retrieve('nope'), (e: APIError) => e.status === 404 && e.code === 'model_not_found');
  });

  test('chat picks the route by model: llama2 to Ollama, mistral to the OpenAI-compatible server, an alias to its model', async () => {
    const a = await sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(a.choices[0]?.message.content, DEFAULT_TEXT);
    assert.equal(ollama.last().path, '/api/chat');
    const b = await sdk().chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(b.choices[0]?.message.content, DEFAULT_TEXT);
    assert.equal(vllm.last().body.model, 'mistral');
    const c = await sdk().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.model, 'llama2');
    assert.equal(ollama.last().body.model, 'llama2');
  });

  test('streamed chat works through the router', async () => {
    const stream = await sdk().chat.completions.create({ model: 'llama2', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, DEFAULT_TEXT);
  });

  test('completions and embeddings (base64 default and float)', async () => {
    const c = await sdk().completions.create({ model: 'llama2', prompt: 'Once upon a time' });
    assert.equal(c.choices[0]?.text, DEFAULT_TEXT);
    assert.equal(ollama.last().path, '/api/generate');
    const e64 = await sdk().embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.deepEqual(e64.data[0]!.embedding, fakeEmbedding('hello').map(Math.fround));
    assert.equal(ollama.last().body.model, 'nomic-embed-text');
    const ef = await sdk().embeddings.create({ model: 'nomic-embed-text', input: ['a', 'b'], encoding_format: 'float' });
    assert.deepEqual(
      ef.data.map((d) => d.embedding),
      [fakeEmbedding('a'), fakeEmbedding('b')],
    );
  });

  test('an unknown model is a 404 model_not_found in OpenAI shape, before any upstream call', async () => {
    const n = ollama.requests.length;
    const r = await post(`${baseURL}/chat/completions`, { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    const e = assertOpenAiError(r, 404, /The model `gpt-5` does not exist/);
    assert.equal(e.code, 'model_not_found');
    assert.equal(e.type, 'invalid_request_error');
    assertOpenAiError(
      await post(`${baseURL}/embeddings`, { model: 'llama2', input: 'x' }),
      404,
      /`llama2` does not exist \(it has no llm\/v1\/embeddings route here\)/,
    );
    assert.equal(ollama.requests.length, n);
  });

  test('no model: the only model of an operation is used; with several, a 400 lists them', async () => {
    const r = await post(`${baseURL}/embeddings`, { input: 'x' });
    assert.equal(r.status, 200, r.text);
    assertOpenAiError(
      await post(`${baseURL}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }] }),
      400,
      /"model" is required: one of "llama2", "gpt-4o-mini", "gpt-3.5-turbo", "mistral"/,
    );
  });

  test('health, /responses hint, unknown paths and wrong methods', async () => {
    const h = await post(`${baseURL}/health`, undefined, { method: 'GET' });
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok' });
    assertOpenAiError(
      await post(`${baseURL}/responses`, { model: 'llama2', input: 'hi' }),
      404,
      /Responses API \(\/v1\/responses\) is not supported: use Chat Completions \(POST \/v1\/chat\/completions\)/,
    );
    assertOpenAiError(await post(`${baseURL}/foo`, {}), 404, /no route at \/v1\/foo/);
    assertOpenAiError(await post(`${baseURL}/chat/completions`, undefined, { method: 'GET' }), 405);
  });
});

describe('other clients through the same baseURL', () => {
  test('LangChain ChatOpenAI with its default model (an alias) and OpenAIEmbeddings', async () => {
    // No model: LangChain sends its own default (gpt-3.5-turbo), an alias here.
    const chat = new ChatOpenAI({ configuration: { baseURL }, apiKey: 'x', maxRetries: 0 });
    const answer = await chat.invoke('What is 1 + 2?');
    assert.equal(answer.content, DEFAULT_TEXT);
    const embeddings = new OpenAIEmbeddings({ configuration: { baseURL }, apiKey: 'x', maxRetries: 0, model: 'nomic-embed-text' });
    const [v1, v2] = await embeddings.embedDocuments(['hello', 'world']);
    assert.deepEqual(v1, fakeEmbedding('hello').map(Math.fround));
    assert.deepEqual(v2, fakeEmbedding('world').map(Math.fround));
    assert.deepEqual(await embeddings.embedQuery('hello'), v1);
  });

  test('AI SDK openai.chat(), whole and streamed', async () => {
    const openai = createOpenAI({ baseURL, apiKey: 'x' });
    const r = await generateText({ model: openai.chat('llama2'), prompt: 'What is 1 + 2?', maxRetries: 0 });
    assert.equal(r.text, DEFAULT_TEXT);
    assert.equal(r.usage.inputTokens, 11);
    const s = streamText({ model: openai.chat('llama2'), prompt: 'What is 1 + 2?', maxRetries: 0 });
    let text = '';
    for await (const t of s.textStream) text += t;
    assert.equal(text, DEFAULT_TEXT);
  });
});

test('an operation with no route at all is a 404 naming it', async () => {
  const chatOnly = await startApp((app) => {
    app.use('/v1', aiProxyRouter({ routes: [routes()[0]!], health_path: false }));
  });
  try {
    assertOpenAiError(
      await post(`${chatOnly.url}/v1/embeddings`, { model: 'nomic-embed-text', input: 'x' }),
      404,
      'no model is served for /embeddings (llm/v1/embeddings) here. Models: GET /v1/models',
    );
    assertOpenAiError(await post(`${chatOnly.url}/v1/health`, undefined, { method: 'GET' }), 404);
  } finally {
    await chatOnly.close();
  }
});

describe('router config', () => {
  test('problems are named by route and field, all at once', () => {
    assert.throws(
      () =>
        aiProxyRouter({
          routes: [
            { route_type: 'llm/v1/chat', model: { provider: 'llama2', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:1/api/chat' } } },
            {
              route_type: 'llm/v1/chatt' as never,
              model: { provider: 'llama2', name: 'x', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:1/api/chat' } },
            },
            {
              route_type: 'llm/v1/chat',
              model: { provider: 'llama2', name: 'a', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:1/api/chat' } },
              aliases: ['b'],
            },
            {
              route_type: 'llm/v1/chat',
              model: { provider: 'llama2', name: 'b', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:1/api/chat' } },
            },
          ],
        }),
      (err: Error & { details: { path: string }[] }) => {
        assert.deepEqual(
          err.details.map((d) => d.path),
          ['routes[0].model.name', 'routes[1].route_type', 'routes[3]'],
        );
        assert.match(err.message, /routes\[1\]\.route_type must be one of/);
        assert.match(err.message, /routes\[3\]: model "b" already has a llm\/v1\/chat route/);
        return true;
      },
    );
  });
});
