import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamFormatError } from '../../lib/errors';
import type { ChatCompletion, TextCompletion } from '../../lib/openai-types';
import type { StreamEvent, StreamState } from '../../lib/formats/format';
import { getFormat } from '../../lib/formats';
import { fixtureJson, fixtureNdjson, makeCtx, makeReq } from '../fixtures/formats-load';

const ollama = getFormat('ollama');
const chatCtx = makeCtx({ format: 'ollama' });
const genCtx = makeCtx({ format: 'ollama', routeType: 'llm/v1/completions' });

describe('ollama toUpstream', () => {
  test('chat: the body of ollama-chat-request.json (minus fields the proxy does not set)', () => {
    const fx = fixtureJson('ollama-chat-request.json');
    const body = ollama.toUpstream(makeReq({ messages: fx.messages, max_tokens: 256, temperature: 0.5, top_p: 0.9, top_k: 40, stop: ['</s>'] }), chatCtx);
    const {
      keep_alive: _k,
      options: { seed: _s, ...options },
      ...rest
    } = fx;
    assert.deepEqual(body, { ...rest, options });
  });

  const streams: Array<[boolean]> = [[true], [false]];
  for (const [stream] of streams) {
    test(`stream: ${stream} is always sent; options only hold given values`, () => {
      assert.deepEqual(ollama.toUpstream(makeReq({ stream, temperature: 0 }), chatCtx), {
        model: 'llama2',
        messages: [{ role: 'user', content: 'Hi' }],
        stream,
        options: { temperature: 0 },
      });
    });
  }

  test('completions: /api/generate body with prompt', () => {
    assert.deepEqual(ollama.toUpstream(makeReq({ kind: 'completions', prompt: 'Why is the sky blue?', max_tokens: 10, stop: ['\n'] }), genCtx), {
      model: 'llama2',
      prompt: 'Why is the sky blue?',
      stream: false,
      options: { num_predict: 10, stop: ['\n'] },
    });
  });

  test('completions: an already-templated [INST] prompt is sent with raw: true', () => {
    const body = ollama.toUpstream(makeReq({ kind: 'completions', prompt: '[INST] Hi [/INST]' }), genCtx);
    assert.equal(body.raw, true);
  });
});

describe('ollama fromUpstream', () => {
  test('chat: ollama-chat-response.json', () => {
    const out = ollama.fromUpstream(fixtureJson('ollama-chat-response.json'), makeReq(), chatCtx) as ChatCompletion;
    assert.match(out.id, /^chatcmpl-.+/);
    assert.deepEqual(
      { ...out, id: 'x' },
      {
        id: 'x',
        object: 'chat.completion',
        created: Math.floor(Date.parse('2024-12-06T00:46:58.265747Z') / 1000),
        // The route's model name, not the server's.
        model: 'llama2',
        choices: [{ index: 0, message: { role: 'assistant', content: '{"age": 22, "available": false}' }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 34, completion_tokens: 12, total_tokens: 46 },
      },
    );
  });

  test('completions: ollama-generate-response.json', () => {
    const out = ollama.fromUpstream(fixtureJson('ollama-generate-response.json'), makeReq({ kind: 'completions' }), genCtx) as TextCompletion;
    assert.match(out.id, /^cmpl-.+/);
    assert.equal(out.object, 'text_completion');
    assert.equal(out.created, 1733446089); // 2024-12-06T00:48:09Z
    assert.equal(out.model, 'llama2');
    assert.deepEqual(out.choices, [{ index: 0, text: '{\n  "age": 22,\n  "available": true\n}', logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(out.usage, { prompt_tokens: 28, completion_tokens: 16, total_tokens: 44 });
  });

  test('absent counts are 0, length maps, unparseable created_at falls back to now, missing model to req.model', () => {
    const before = Math.floor(Date.now() / 1000);
    const out = ollama.fromUpstream(
      { created_at: 'soon', message: { role: 'assistant', content: 'x' }, done: true, done_reason: 'length' },
      makeReq(),
      chatCtx,
    );
    assert.ok(out.created >= before && out.created <= before + 2);
    assert.equal(out.model, 'llama2');
    assert.equal(out.choices[0]?.finish_reason, 'length');
    assert.deepEqual(out.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  test('an error body or an unknown shape is an UpstreamFormatError', () => {
    assert.throws(
      () => ollama.fromUpstream({ error: "model 'llama2' not found" }, makeReq(), chatCtx),
      /Ollama answered with an error: model 'llama2' not found/,
    );
    assert.throws(() => ollama.fromUpstream({ foo: 1 }, makeReq(), chatCtx), UpstreamFormatError);
    assert.throws(() => ollama.fromUpstream('text', makeReq(), chatCtx), UpstreamFormatError);
  });
});

function runStream(messages: unknown[]): StreamEvent[] {
  const state: StreamState = {};
  return messages.flatMap((m) => ollama.fromStreamMessage(m, makeReq({ stream: true }), chatCtx, state));
}

describe('ollama fromStreamMessage', () => {
  const finish = {
    type: 'finish',
    finishReason: 'stop',
  };
  test('chat stream', () => {
    assert.deepEqual(runStream(fixtureNdjson('ollama-chat-stream.ndjson')), [
      { type: 'text', text: 'The' },
      { type: 'text', text: ' sky' },
      { ...finish, usage: { prompt_tokens: 26, completion_tokens: 282, total_tokens: 308 } },
    ]);
  });

  test('generate stream', () => {
    assert.deepEqual(runStream(fixtureNdjson('ollama-generate-stream.ndjson')), [
      { type: 'text', text: 'The' },
      { type: 'text', text: ' sky' },
      { ...finish, usage: { prompt_tokens: 26, completion_tokens: 259, total_tokens: 285 } },
    ]);
  });

  test('an error line after text', () => {
    assert.deepEqual(runStream(fixtureNdjson('ollama-stream-error.ndjson')), [
      { type: 'text', text: ' Yes' },
      { type: 'text', text: '.' },
      { type: 'text', text: 'I' },
      { type: 'text', text: 'can' },
      { type: 'error', message: 'an error was encountered while running the model', errorType: 'api_error', code: null },
    ]);
  });

  test('empty text is skipped; a done line with text emits it before finish; length and absent counts', () => {
    assert.deepEqual(
      runStream([
        { response: '', done: false },
        { response: 'end', done: true, done_reason: 'length', eval_count: 3 },
      ]),
      [
        { type: 'text', text: 'end' },
        { type: 'finish', finishReason: 'length', usage: { prompt_tokens: 0, completion_tokens: 3, total_tokens: 3 } },
      ],
    );
  });

  const bad: Array<[string, unknown]> = [
    ['a string', 'x'],
    ['[DONE]', '[DONE]'],
    ['null', null],
    ['an unknown object', { foo: 1 }],
  ];
  for (const [name, message] of bad) {
    test(`UpstreamFormatError: ${name}`, () => assert.throws(() => runStream([message]), UpstreamFormatError));
  }
});
