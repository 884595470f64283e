/**
 * route_type llm/v1/embeddings: Ollama's /api/embed, llama.cpp's native /embedding and its
 * OpenAI-compatible /v1/embeddings, TEI's /embed (all fakes speaking the real wire shapes; the
 * llama.cpp ones are checked against the real server in test/llamacpp/embeddings.test.ts), driven by
 * the openai SDK, whose default encoding is base64 (little-endian float32).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { aiProxy, type AiProxyConfig } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, startApp } from '../support/proxy-app';
import {
  type FakeUpstream,
  fakeEmbedding,
  llamaCppEmbedding,
  llamaCppTokens,
  startLlamaCpp,
  startOllama,
  startTei,
  teiEmbedding,
  teiTokens,
} from '../support/upstreams';

let ollama: FakeUpstream;
let llama: FakeUpstream;
let tei: FakeUpstream;
let proxy: ProxyApp;

function embeddingsConfig(format: 'ollama' | 'raw' | 'openai', url: string, name = 'nomic-embed-text'): AiProxyConfig {
  return { route_type: 'llm/v1/embeddings', model: { provider: 'llama2', name, options: { llama2_format: format, upstream_url: url } } };
}

before(async () => {
  [ollama, llama, tei] = await Promise.all([startOllama(), startLlamaCpp(), startTei()]);
  proxy = await startApp((app) => {
    app.use('/ollama', aiProxy(embeddingsConfig('ollama', `${ollama.url}/api/embed`)));
    app.use('/llamacpp', aiProxy(embeddingsConfig('raw', `${llama.url}/embedding`, 'tiny')));
    app.use('/oai', aiProxy(embeddingsConfig('openai', `${llama.url}/v1/embeddings`, 'tiny')));
    app.use('/tei', aiProxy(embeddingsConfig('raw', `${tei.url}/embed`, 'bge-small')));
  });
});
after(() => Promise.all([proxy.close(), ollama.close(), llama.close(), tei.close()]));

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
    assert.equal(e.param, 'user');
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

describe('llama.cpp (fake, shapes checked against the real server by test/llamacpp/embeddings.test.ts)', () => {
  test('raw: /embedding is sent {content}, answers in order; base64 and float agree', async () => {
    const floats = await client('llamacpp').embeddings.create({ model: 'tiny', input: ['hello world', 'bye'], encoding_format: 'float' });
    assert.equal(llama.last().path, '/embedding');
    assert.deepEqual(llama.last().body, { content: ['hello world', 'bye'] });
    const b64 = await client('llamacpp').embeddings.create({ model: 'tiny', input: ['hello world', 'bye'] });
    assert.deepEqual(
      floats.data.map((d) => d.embedding),
      [llamaCppEmbedding('hello world'), llamaCppEmbedding('bye')],
    );
    assert.deepEqual(
      b64.data.map((d) => d.embedding),
      floats.data.map((d) => f32(d.embedding)),
    );
    assert.equal(floats.model, 'tiny');
    // The native endpoint reports no token count.
    assert.deepEqual(floats.usage, { prompt_tokens: 0, total_tokens: 0 });
  });

  test('raw: one string is sent as one string; an empty string is embedded as the server does', async () => {
    const r = await client('llamacpp').embeddings.create({ model: 'tiny', input: '', encoding_format: 'float' });
    assert.deepEqual(llama.last().body, { content: '' });
    assert.deepEqual(
      r.data.map((d) => [d.index, d.embedding]),
      [[0, llamaCppEmbedding('')]],
    );
  });

  test('openai: /v1/embeddings is asked for floats, its usage and model come through, base64 encoded here', async () => {
    const oai = await client('oai').embeddings.create({ model: 'tiny', input: ['hello world', 'bye'] });
    assert.equal(llama.last().path, '/v1/embeddings');
    assert.deepEqual(llama.last().body, { model: 'tiny', input: ['hello world', 'bye'], encoding_format: 'float' });
    assert.deepEqual(
      oai.data.map((d) => d.embedding),
      [f32(llamaCppEmbedding('hello world')), f32(llamaCppEmbedding('bye'))],
    );
    assert.deepEqual(oai.usage, { prompt_tokens: llamaCppTokens('hello world') + llamaCppTokens('bye'), total_tokens: 5 });
    assert.equal(oai.model, 'tiny');
  });

  test("an upstream error keeps its status and llama.cpp's message", async () => {
    llama.set({ fault: { kind: 'status', status: 500, body: { error: { code: 500, message: '"prompt" must not be empty', type: 'server_error' } } } });
    try {
      await assert.rejects(client('llamacpp').embeddings.create({ model: 'tiny', input: 'hi' }), (err: APIError) => {
        assert.equal(err.status, 500);
        assert.match(err.message, /"prompt" must not be empty/);
        return true;
      });
    } finally {
      llama.reset();
    }
  });

  test('raw refuses dimensions; a raw upstream that is neither /embed nor /embedding is a config error', () => {
    assert.throws(
      () => aiProxy(embeddingsConfig('raw', 'http://127.0.0.1:1/generate')),
      /needs llama\.cpp's \/embedding or TEI's \/embed, got "http:\/\/127\.0\.0\.1:1\/generate"/,
    );
    assert.doesNotThrow(() => aiProxy(embeddingsConfig('raw', 'http://127.0.0.1:1/embed')));
  });

  test('raw: dimensions is a 400 naming it', async () => {
    const e = assertOpenAiError(
      await post(`${proxy.url}/llamacpp`, { input: 'hi', dimensions: 3 }),
      400,
      /"dimensions" is not supported by this raw embeddings upstream/,
    );
    assert.equal(e.code, 'unsupported_parameter');
    assert.equal(e.param, 'dimensions');
  });
});

describe('TEI /embed (raw)', () => {
  test('float: /embed is sent {inputs} only, the vectors come back in order, usage from x-compute-tokens', async () => {
    const r = await client('tei').embeddings.create({ model: 'bge-small', input: ['hello world', 'bye'], encoding_format: 'float' });
    assert.equal(tei.last().path, '/embed');
    assert.deepEqual(tei.last().body, { inputs: ['hello world', 'bye'] });
    assert.equal(r.object, 'list');
    assert.equal(r.model, 'bge-small');
    assert.deepEqual(
      r.data.map((d) => [d.object, d.index, d.embedding]),
      [
        ['embedding', 0, teiEmbedding('hello world')],
        ['embedding', 1, teiEmbedding('bye')],
      ],
    );
    const tokens = teiTokens('hello world') + teiTokens('bye');
    assert.deepEqual(r.usage, { prompt_tokens: tokens, total_tokens: tokens });
  });

  test('the openai SDK default (base64) decodes to the same vectors; one string is sent as one string', async () => {
    const b = await post(`${proxy.url}/tei/embeddings`, { model: 'bge-small', input: 'hello world', encoding_format: 'base64' });
    assert.equal(b.status, 200, b.text);
    assert.equal(typeof b.json.data[0].embedding, 'string');
    const r = await client('tei').embeddings.create({ model: 'bge-small', input: 'hello world' });
    assert.deepEqual(tei.last().body, { inputs: 'hello world' });
    assert.deepEqual(r.data[0]!.embedding, f32(teiEmbedding('hello world')));
    assert.deepEqual(r.usage, { prompt_tokens: teiTokens('hello world'), total_tokens: teiTokens('hello world') });
  });

  test("TEI's own errors keep their status and message", async () => {
    await assert.rejects(client('tei').embeddings.create({ model: 'bge-small', input: '' }), (err: APIError) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /`inputs` cannot be empty/);
      return true;
    });
    const many = Array.from({ length: 33 }, (_, i) => `t${i}`);
    await assert.rejects(client('tei').embeddings.create({ model: 'bge-small', input: many }), (err: APIError) => {
      assert.equal(err.status, 413);
      assert.match(err.message, /batch size 33 > maximum allowed batch size 32/);
      return true;
    });
  });

  test('fields TEI has no counterpart for are refused by name', async () => {
    const before = tei.requests.length;
    assertOpenAiError(await post(`${proxy.url}/tei`, { input: 'hi', user: 'u1' }), 400, /"user" is not supported by this raw embeddings upstream/);
    assertOpenAiError(await post(`${proxy.url}/tei`, { input: 'hi', dimensions: 3 }), 400, /"dimensions" is not supported by this raw embeddings upstream/);
    assert.equal(tei.requests.length, before);
  });
});

test('an embeddings route answers its /embeddings path, not /chat/completions', async () => {
  assertOpenAiError(await post(`${proxy.url}/ollama/chat/completions`, { input: 'x' }), 404, /path of llm\/v1\/chat, but this route is llm\/v1\/embeddings/);
  const r = await post(`${proxy.url}/ollama/embeddings`, { input: 'x' });
  assert.equal(r.status, 200, r.text);
});
