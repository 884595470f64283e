/**
 * Embeddings against a real llama.cpp server started with `--embeddings --pooling mean`: the
 * native `/embedding` (`raw`) and the OpenAI-compatible `/v1/embeddings` (`openai`) through
 * express-ai-proxy with the official openai SDK, and the fake llama.cpp server of the e2e tests
 * (test/support/llamacpp-embeddings.ts) checked against the real one, request by request: same
 * statuses, same field names and nesting, same error messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type FakeUpstream, startLlamaCpp } from '../support/upstreams';
import { type Harness, MODEL, startHarness, tokenize } from './support/harness';

let h: Harness;
let fake: FakeUpstream;
before(async () => {
  [h, fake] = await Promise.all([startHarness(['--embeddings', '--pooling', 'mean']), startLlamaCpp()]);
});
after(() => Promise.all([h?.close(), fake?.close()]));

interface Answer {
  status: number;
  connection: string | null;
  body: any;
}

async function send(base: string, path: string, body: string): Promise<Answer> {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, connection: r.headers.get('connection'), body: await r.json() };
}

/** The structure of a JSON value: names, nesting, types and array lengths, not the values. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 0 && v.every((n) => typeof n === 'number') ? `number[${v.length}]` : v.map(shape);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

const norm = (v: number[]) => Math.hypot(...v);

/** Same vectors up to float noise: the server's sums are not bit-for-bit the same from one batch to the next. */
function assertNear(actual: number[][], expected: number[][]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => {
    assert.equal(v.length, expected[i]!.length);
    v.forEach((x, j) => assert.ok(Math.abs(x - expected[i]![j]!) < 1e-5, `[${i}][${j}]: ${x} vs ${expected[i]![j]}`));
  });
}

describe('the fake llama.cpp answers as the real one', () => {
  const cases: [string, string, string][] = [
    ['native, one string', '/embedding', JSON.stringify({ content: 'hello world' })],
    ['native, an array', '/embedding', JSON.stringify({ content: ['hello world', 'bye'] })],
    ['native, `input` instead of `content`', '/embedding', JSON.stringify({ input: 'hello world' })],
    ['native alias /embeddings', '/embeddings', JSON.stringify({ content: 'hello world' })],
    ['native, an empty string', '/embedding', JSON.stringify({ content: '' })],
    ['v1, one string, no model', '/v1/embeddings', JSON.stringify({ input: 'hello world' })],
    ['v1, an array with a model', '/v1/embeddings', JSON.stringify({ input: ['hello world', 'bye'], model: 'tiny' })],
    ['v1, base64', '/v1/embeddings', JSON.stringify({ input: 'hi', encoding_format: 'base64' })],
    ['native, no content', '/embedding', '{}'],
    ['native, an empty array', '/embedding', JSON.stringify({ content: [] })],
    ['native, a number', '/embedding', JSON.stringify({ content: 42 })],
    ['v1, no input', '/v1/embeddings', '{}'],
    ['v1, an empty array', '/v1/embeddings', JSON.stringify({ input: [] })],
    ['v1, not JSON', '/v1/embeddings', 'not json'],
  ];
  for (const [name, path, body] of cases) {
    test(name, async () => {
      const real = await send(h.server.url, path, body);
      const faked = await send(fake.url, path, body);
      assert.equal(faked.status, real.status);
      assert.deepEqual(shape(faked.body), shape(real.body));
      // Errors close the connection, with the same message (but for the parser's own wording).
      if (real.status >= 400) {
        assert.equal(faked.connection, real.connection);
        assert.equal(faked.body.error.type, real.body.error.type);
        if (!body.startsWith('not')) assert.equal(faked.body.error.message, real.body.error.message);
      }
    });
  }

  test('what the fake makes up follows the real rules: unit vectors, the model named or the file path, usage counts BOS', async () => {
    const real = (await send(h.server.url, '/v1/embeddings', JSON.stringify({ input: 'hello world' }))).body;
    const faked = (await send(fake.url, '/v1/embeddings', JSON.stringify({ input: 'hello world' }))).body;
    assert.ok(Math.abs(norm(real.data[0].embedding) - 1) < 1e-6);
    assert.ok(Math.abs(norm(faked.data[0].embedding) - 1) < 1e-6);
    assert.match(real.model, /\.gguf$/);
    assert.match(faked.model, /\.gguf$/);
    const tokens = (await tokenize(h, 'hello world', true)).length;
    assert.equal(real.usage.prompt_tokens, tokens);
    assert.equal(faked.usage.prompt_tokens, tokens);
    const named = (await send(h.server.url, '/v1/embeddings', JSON.stringify({ input: 'x', model: 'tiny' }))).body;
    assert.equal(named.model, 'tiny');
  });
});

describe('through the proxy, with the openai SDK', () => {
  test('raw: the vectors of /embedding, in order; base64 (the SDK default) and float agree', async () => {
    const direct = await h.direct('/embedding', { content: ['hello world', 'bye'] });
    const floats = await h.client('raw').embeddings.create({ model: MODEL, input: ['hello world', 'bye'], encoding_format: 'float' });
    const b64 = await h.client('raw').embeddings.create({ model: MODEL, input: ['hello world', 'bye'] });
    assert.equal(floats.model, MODEL);
    assert.deepEqual(
      floats.data.map((d) => d.index),
      [0, 1],
    );
    assertNear(
      floats.data.map((d) => d.embedding),
      direct.map((d: any) => d.embedding[0]),
    );
    assert.notDeepEqual(floats.data[0]!.embedding, floats.data[1]!.embedding);
    assertNear(
      b64.data.map((d) => d.embedding),
      floats.data.map((d) => d.embedding),
    );
  });

  test("openai: /v1/embeddings gives the native endpoint's vectors, with the server's token count", async () => {
    const native = await h.client('raw').embeddings.create({ model: MODEL, input: 'hello world', encoding_format: 'float' });
    const oai = await h.client('openai').embeddings.create({ model: MODEL, input: 'hello world', encoding_format: 'float' });
    assert.equal(oai.model, MODEL);
    assert.equal(oai.data.length, 1);
    const a = native.data[0]!.embedding;
    const c = oai.data[0]!.embedding;
    assert.equal(a.length, c.length);
    const cosine = a.reduce((s, x, i) => s + x * c[i]!, 0) / (norm(a) * norm(c));
    assert.ok(cosine > 0.999, `cosine ${cosine}`);
    const tokens = (await tokenize(h, 'hello world', true)).length;
    assert.deepEqual(oai.usage, { prompt_tokens: tokens, total_tokens: tokens });
    const b64 = await h.client('openai').embeddings.create({ model: MODEL, input: 'hello world' });
    assertNear([b64.data[0]!.embedding], [c]);
  });
});
