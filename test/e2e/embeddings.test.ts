/**
 * route_type llm/v1/embeddings: Ollama's /api/embed (fake, per its wire format), llama.cpp's native
 * /embedding and its OpenAI-compatible /v1/embeddings (the real server), driven by the openai SDK,
 * whose default encoding is base64 (little-endian float32).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { aiProxy, type AiProxyConfig } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, startApp } from '../support/proxy-app';
import { startRealLlamaEmbeddings, type RealLlama } from '../support/real-llama-embeddings';
import { type FakeUpstream, fakeEmbedding, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let llama: RealLlama;
let proxy: ProxyApp;

function embeddingsConfig(format: 'ollama' | 'raw' | 'openai', url: string, name = 'nomic-embed-text'): AiProxyConfig {
  return { route_type: 'llm/v1/embeddings', model: { provider: 'llama2', name, options: { llama2_format: format, upstream_url: url } } };
}

before(async () => {
  [ollama, llama] = await Promise.all([startOllama(), startRealLlamaEmbeddings()]);
  proxy = await startApp((app) => {
    app.use('/ollama', aiProxy(embeddingsConfig('ollama', `${ollama.url}/api/embed`)));
    app.use('/llamacpp', aiProxy(embeddingsConfig('raw', `${llama.url}/embedding`, 'tiny')));
    app.use('/oai', aiProxy(embeddingsConfig('openai', `${llama.url}/v1/embeddings`, 'tiny')));
  });
});
after(() => Promise.all([proxy.close(), ollama.close(), llama.close()]));

const f32 = (v: number[]) => v.map((n) => Math.fround(n));
const client = (mount: string) => new OpenAI({ baseURL: `${proxy.url}/${mount}`, apiKey: 'x', maxRetries: 0, timeout: 10_000 });

describe('ollama /api/embed', () => {
  test('the openai SDK default (base64) decodes to the vectors Ollama gave, in order, with usage', async () => {
    const r = await client('ollama').embeddings.create({ model: 'nomic-embed-text', input: ['hello world', 'bye'] });
    const sent = ollama.last().body;
    assert.equal(ollama.last().path, '/api/embed');
    assert.deepEqual(sent, { model: 'nomic-embed-text', input: ['hello world', 'bye'] });
    assert.equal(r.object, 'list');
    assert.equal(r.model, 'nomic-embed-text');
    assert.deepEqual(
      r.data.map((d) => d.index),
      [0, 1],
    );
    assert.deepEqual(r.data[0]!.embedding, f32(fakeEmbedding('hello world')));
    assert.deepEqual(r.data[1]!.embedding, f32(fakeEmbedding('bye')));
    assert.deepEqual(r.usage, { prompt_tokens: 7, total_tokens: 7 });
  });

  test('the wire answer for base64 is a little-endian float32 string; float gives plain numbers', async () => {
    const b = await post(`${proxy.url}/ollama/embeddings`, { model: 'nomic-embed-text', input: 'hi', encoding_format: 'base64' });
    assert.equal(b.status, 200, b.text);
    const bytes = Buffer.from(b.json.data[0].embedding, 'base64');
    assert.equal(bytes.length, 8 * 4);
    assert.equal(bytes.readFloatLE(4), Math.fround(fakeEmbedding('hi')[1]!));
    assert.equal(ollama.last().body.input, 'hi');
    const r = await client('ollama').embeddings.create({ model: 'nomic-embed-text', input: 'hi', encoding_format: 'float' });
    assert.deepEqual(r.data[0]!.embedding, fakeEmbedding('hi'));
    assert.deepEqual(Object.keys(r.data[0]!).sort(), ['embedding', 'index', 'object']);
  });

  test("dimensions is mapped to Ollama's dimensions", async () => {
    const r = await client('ollama').embeddings.create({ model: 'nomic-embed-text', input: 'hi', dimensions: 4, encoding_format: 'float' });
    assert.equal(ollama.last().body.dimensions, 4);
    assert.equal(r.data[0]!.embedding.length, 4);
  });

  test('fields Ollama has no counterpart for are refused by name; bad input is a 400', async () => {
    const e = assertOpenAiError(
      await post(`${proxy.url}/ollama`, { input: 'hi', user: 'u1' }),
      400,
      /"user" is not supported by this ollama embeddings upstream/,
    );
    assert.equal(e.code, 'unsupported_parameter');
    assertOpenAiError(await post(`${proxy.url}/ollama`, { input: [1, 2, 3] }), 400, /expects "input": a string or a non-empty array of strings/);
    assertOpenAiError(await post(`${proxy.url}/ollama`, { input: [] }), 400, /expects "input"/);
    assertOpenAiError(await post(`${proxy.url}/ollama`, { input: 'hi', encoding_format: 'int8' }), 400, /"encoding_format" must be "float" or "base64"/);
    assertOpenAiError(await post(`${proxy.url}/ollama`, { input: 'hi', dimensions: 0 }), 400, /"dimensions" must be an integer >= 1/);
  });

  test('an upstream error keeps its status and message', async () => {
    ollama.set({ fault: { kind: 'status', status: 404, body: { error: "model 'nomic-embed-text' not found" } } });
    try {
      await assert.rejects(client('ollama').embeddings.create({ model: 'nomic-embed-text', input: 'hi' }), (err: APIError) => {
        assert.equal(err.status, 404);
        assert.match(err.message, /model 'nomic-embed-text' not found/);
        return true;
      });
    } finally {
      ollama.reset();
    }
  });
});

describe('llama.cpp (real server)', () => {
  test('raw: /embedding answers, batch in order; base64 and float agree', async () => {
    const floats = await client('llamacpp').embeddings.create({ model: 'tiny', input: ['hello world', 'bye'], encoding_format: 'float' });
    const b64 = await client('llamacpp').embeddings.create({ model: 'tiny', input: ['hello world', 'bye'] });
    assert.equal(floats.data.length, 2);
    assert.ok(floats.data[0]!.embedding.length > 8);
    assert.notDeepEqual(floats.data[0]!.embedding, floats.data[1]!.embedding);
    assert.deepEqual(
      b64.data.map((d) => d.embedding),
      floats.data.map((d) => f32(d.embedding)),
    );
    assert.equal(floats.model, 'tiny');
  });

  test('openai: /v1/embeddings gives the same vectors as the native endpoint, with usage', async () => {
    const native = await client('llamacpp').embeddings.create({ model: 'tiny', input: 'hello world', encoding_format: 'float' });
    const oai = await client('oai').embeddings.create({ model: 'tiny', input: 'hello world' });
    assert.equal(oai.data.length, 1);
    const a = native.data[0]!.embedding;
    const c = oai.data[0]!.embedding;
    assert.equal(a.length, c.length);
    // The OpenAI endpoint normalises; compare directions.
    const dot = a.reduce((s, x, i) => s + x * c[i]!, 0) / (Math.hypot(...a) * Math.hypot(...c));
    assert.ok(dot > 0.999, `cosine ${dot}`);
    assert.ok(oai.usage.prompt_tokens > 0);
  });

  test('raw refuses dimensions; a raw upstream that is neither /embed nor /embedding is a config error', () => {
    assert.throws(
      () => aiProxy(embeddingsConfig('raw', 'http://127.0.0.1:1/generate')),
      /needs llama\.cpp's \/embedding or TEI's \/embed, got "http:\/\/127\.0\.0\.1:1\/generate"/,
    );
    assert.doesNotThrow(() => aiProxy(embeddingsConfig('raw', 'http://127.0.0.1:1/embed')));
  });

  test('raw: dimensions is a 400', async () => {
    assertOpenAiError(
      await post(`${proxy.url}/llamacpp`, { input: 'hi', dimensions: 3 }),
      400,
      /"dimensions" is not supported by this raw embeddings upstream/,
    );
  });
});

test('an embeddings route answers its /embeddings path, not /chat/completions', async () => {
  assertOpenAiError(await post(`${proxy.url}/ollama/chat/completions`, { input: 'x' }), 404, /path of llm\/v1\/chat, but this route is llm\/v1\/embeddings/);
  const r = await post(`${proxy.url}/ollama/embeddings`, { input: 'x' });
  assert.equal(r.status, 200, r.text);
});
