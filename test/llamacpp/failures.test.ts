/**
 * A real llama.cpp server failing: its context overflow reaches the client in OpenAI's form (the
 * code OpenAI clients look for), a stopped server is a 502, and a server killed mid-stream ends the
 * stream with an error event and no `[DONE]`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import { aiProxy } from '../../lib';
import { openStream, post, sseData } from '../support/http-client';
import { llama2Config, startApp } from '../support/proxy-app';
import { type Format, type Harness, type Kind, MODEL, startHarness } from './support/harness';
import { startLlamaServer } from './support/llama-server';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

// About 600 tokens, more than the 512 of the server's context.
const LONG = 'hello '.repeat(600);

function longBody(format: Format, kind: Kind, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (kind === 'chat') return { model: MODEL, messages: [{ role: 'user', content: LONG }], ...extra };
  return { model: MODEL, prompt: format === 'raw' ? LONG : `[INST] ${LONG} [/INST]`, ...extra };
}

describe("context overflow: 400 invalid_request_error, code context_length_exceeded, the server's message", () => {
  for (const format of ['raw', 'openai'] as const) {
    for (const kind of ['chat', 'completions'] as const) {
      for (const stream of [false, true]) {
        test(`${format} ${kind}${stream ? ', streamed' : ''}`, async () => {
          const r = await post(h.route(format, kind), longBody(format, kind, { stream }), { timeoutMs: 20_000 });
          assert.equal(r.status, 400, r.text);
          assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
          assert.equal(r.headers.get('x-llm-model'), `llama2/${MODEL}`);
          assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type']);
          assert.equal(r.json.error.type, 'invalid_request_error');
          assert.equal(r.json.error.code, 'context_length_exceeded');
          assert.match(r.json.error.message, /exceeds the available context size \(512 tokens\)/);
        });
      }
    }
  }

  test('the openai SDK raises it as a BadRequestError with that code', async () => {
    await assert.rejects(h.client('raw').chat.completions.create(longBody('raw', 'chat') as never), (err: unknown) => {
      assert.ok(err instanceof APIError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.type, 'invalid_request_error');
      return true;
    });
  });
});

describe('concurrent long answers fill the shared context mid-stream', () => {
  for (const format of ['raw', 'openai'] as const) {
    test(`${format}: error events with code context_length_exceeded, no [DONE]`, async () => {
      const req = { model: MODEL, prompt: '[INST] Tell me a story [/INST] Once upon a time', max_tokens: 500, stream: true };
      const rs = await Promise.all(Array.from({ length: 4 }, () => post(h.route(format, 'completions'), req, { timeoutMs: 20_000 })));
      const errors = rs.map((r) => sseData(r.text).at(-1)).filter((f) => f !== '[DONE]');
      assert.ok(errors.length > 0, 'the context never filled up; the test proves nothing');
      for (const f of errors) {
        assert.deepEqual(f, {
          error: { message: 'Context size has been exceeded.', type: 'invalid_request_error', param: null, code: 'context_length_exceeded' },
        });
      }
    });
  }
});

describe('the server stopped or killed', () => {
  test('stopped: 502 upstream_unreachable, JSON and streamed', async () => {
    const s = await startLlamaServer();
    const app = await startApp((a) => a.use('/chat', aiProxy(llama2Config('chat', 'raw', `${s.url}/completion`, { name: MODEL }))));
    try {
      const ok = await post(`${app.url}/chat`, { messages: [{ role: 'user', content: 'hi' }] }, { timeoutMs: 20_000 });
      assert.equal(ok.status, 200, ok.text);
      await s.stop();
      for (const stream of [false, true]) {
        const r = await post(`${app.url}/chat`, { messages: [{ role: 'user', content: 'hi' }], stream }, { timeoutMs: 20_000 });
        assert.equal(r.status, 502, r.text);
        assert.equal(r.json.error.type, 'api_error');
        assert.equal(r.json.error.code, 'upstream_unreachable');
      }
    } finally {
      await app.close();
      await s.stop();
    }
  });

  for (const format of ['raw', 'openai'] as const) {
    test(`${format}: killed mid-stream: the text so far, then an error event, no [DONE]`, async () => {
      const s = await startLlamaServer();
      const upstream = format === 'raw' ? `${s.url}/completion` : `${s.url}/v1/completions`;
      const app = await startApp((a) => a.use('/c', aiProxy(llama2Config('completions', format, upstream, { name: MODEL }))));
      try {
        // A prompt that does not end in [/INST] walks random tokens until max_tokens.
        const stream = await openStream(
          `${app.url}/c`,
          { prompt: '[INST] Tell me a story [/INST] Once upon a time', max_tokens: 480, stream: true },
          { timeoutMs: 20_000 },
        );
        assert.equal(stream.status, 200);
        await stream.readUntil((t) => t.includes('"text":"'));
        await s.kill();
        const text = await stream.readAll();
        const frames = sseData(text);
        assert.ok(!frames.includes('[DONE]'), 'a cut answer must not end with [DONE]');
        assert.ok(frames.length >= 2);
        const last = frames.at(-1);
        assert.equal(last.error?.type, 'api_error', text.slice(-300));
        assert.equal(last.error.code, 'upstream_failed');
        assert.ok(frames.slice(0, -1).every((f) => f.model === MODEL && f.choices?.[0]?.finish_reason === null));
      } finally {
        await app.close();
        await s.kill();
      }
    });
  }
});
