import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, type AiProxyConfig } from '../../lib';
import { base64ToFloats, embeddingsDialect, floatsToBase64, fromEmbeddingsUpstream, toEmbeddingsRequest, toEmbeddingsUpstream } from '../../lib/embeddings';

function config(format: 'ollama' | 'raw' | 'openai', url: string, extra: Partial<AiProxyConfig> = {}) {
  return validateConfig({
    route_type: 'llm/v1/embeddings',
    model: { provider: 'llama2', name: 'e', options: { llama2_format: format, upstream_url: url } },
    ...extra,
  });
}

test('base64 is little-endian float32 and round-trips at float32 precision', () => {
  const v = [0.1, -2.5, 3e-8, 1];
  const b = floatsToBase64(v);
  const bytes = Buffer.from(b, 'base64');
  assert.equal(bytes.length, 16);
  assert.equal(bytes.readFloatLE(4), -2.5);
  assert.deepEqual(base64ToFloats(b), v.map(Math.fround));
  assert.throws(() => base64ToFloats(Buffer.from([1, 2, 3]).toString('base64')), /not a whole number of float32/);
});

test('raw picks TEI for /embed and llama.cpp for /embedding(s); anything else is a config error', () => {
  assert.equal(embeddingsDialect(config('raw', 'http://h/embed')), 'tei');
  assert.equal(embeddingsDialect(config('raw', 'http://h/embedding')), 'llamacpp');
  assert.equal(embeddingsDialect(config('raw', 'http://h/embeddings/')), 'llamacpp');
  assert.equal(
    embeddingsDialect(
      config('raw', 'http://h/x', {
        model: { provider: 'llama2', options: { llama2_format: 'raw', upstream_url: 'http://h/x', raw_dialect: 'tgi' } },
      } as never),
    ),
    'tei',
  );
  assert.throws(() => embeddingsDialect(config('raw', 'http://h/generate')), /needs llama\.cpp's \/embedding or TEI's \/embed/);
});

test('TEI: {inputs} out, an array of vectors back, prompt tokens from x-compute-tokens', () => {
  const c = config('raw', 'http://h/embed');
  const req = toEmbeddingsRequest({ input: ['a', 'b'], encoding_format: 'float' }, c);
  assert.deepEqual(toEmbeddingsUpstream('tei', req), { inputs: ['a', 'b'] });
  const out = fromEmbeddingsUpstream(
    'tei',
    [
      [1, 2],
      [3, 4],
    ],
    req,
    { 'x-compute-tokens': '6' },
  );
  assert.deepEqual(out, {
    object: 'list',
    data: [
      { object: 'embedding', index: 0, embedding: [1, 2] },
      { object: 'embedding', index: 1, embedding: [3, 4] },
    ],
    model: 'e',
    usage: { prompt_tokens: 6, total_tokens: 6 },
  });
});

test('llama.cpp: one string stays one string; per-token vectors (pooling none) are a clear error', () => {
  const c = config('raw', 'http://h/embedding');
  const req = toEmbeddingsRequest({ input: 'a' }, c);
  assert.deepEqual(toEmbeddingsUpstream('llamacpp', req), { content: 'a' });
  assert.deepEqual(fromEmbeddingsUpstream('llamacpp', [{ index: 0, embedding: [[0.5, 0.25]] }], req).data[0]!.embedding, [0.5, 0.25]);
  assert.deepEqual(fromEmbeddingsUpstream('llamacpp', { embedding: [0.5] }, req).data[0]!.embedding, [0.5]);
  assert.throws(() => fromEmbeddingsUpstream('llamacpp', [{ index: 0, embedding: [[1], [2]] }], req), /--pooling mean/);
});

test('answers that do not fit are refused: wrong count, non-numbers, an error body', () => {
  const c = config('ollama', 'http://h/api/embed');
  const req = toEmbeddingsRequest({ input: ['a', 'b'] }, c);
  assert.throws(() => fromEmbeddingsUpstream('ollama', { embeddings: [[1]] }, req), /1 vectors for 2 inputs/);
  assert.throws(() => fromEmbeddingsUpstream('ollama', { embeddings: [[1], ['x']] }, req), /expected finite numbers/);
  assert.throws(() => fromEmbeddingsUpstream('ollama', { error: 'model not loaded' }, req), /model not loaded/);
});

test('openai: the body is passed with floats asked for; a base64 answer is decoded, then encoded as the client asked', () => {
  const c = config('openai', 'http://h/v1/embeddings');
  const req = toEmbeddingsRequest({ model: 'e', input: 'a', user: 'u', encoding_format: 'base64' }, c);
  assert.deepEqual(toEmbeddingsUpstream('openai', req), { model: 'e', input: 'a', user: 'u', encoding_format: 'float' });
  const out = fromEmbeddingsUpstream('openai', { data: [{ index: 0, embedding: floatsToBase64([1, 2]) }], usage: { prompt_tokens: 2 } }, req);
  assert.equal(out.data[0]!.embedding, floatsToBase64([1, 2]));
  assert.deepEqual(out.usage, { prompt_tokens: 2, total_tokens: 2 });
  // Token arrays can only go to an OpenAI-compatible server.
  assert.doesNotThrow(() => toEmbeddingsRequest({ input: [[1, 2]] }, c));
  assert.throws(() => toEmbeddingsRequest({ input: [[1, 2]] }, config('ollama', 'http://h/api/embed')), /expects "input"/);
});

test("client_model: 'replace' applies to embeddings too", () => {
  const c = config('ollama', 'http://h/api/embed', { client_model: 'replace' });
  assert.equal(toEmbeddingsRequest({ model: 'text-embedding-3-small', input: 'a' }, c).model, 'e');
  assert.throws(() => toEmbeddingsRequest({ model: 'other', input: 'a' }, config('ollama', 'http://h/api/embed')), /cannot use own model - must be: e/);
});
