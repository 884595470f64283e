import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamFormatError } from '../../lib/errors';
import type { ChatCompletion, TextCompletion } from '../../lib/openai-types';
import type { StreamEvent, StreamState } from '../../lib/formats/format';
import { getFormat } from '../../lib/formats';
import { fixtureJson, fixtureSse, makeCtx, makeReq } from '../fixtures/formats-load';

const openai = getFormat('openai');
const chatCtx = makeCtx({ format: 'openai' });
const cmplCtx = makeCtx({ format: 'openai', routeType: 'llm/v1/completions' });

describe('openai toUpstream', () => {
  const clientBody = {
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'Hi' }],
    temperature: 1.2,
    max_tokens: 50,
    seed: 7,
    stream: true,
    stream_options: { include_usage: true },
  };

  test('passes the body on with the configured model and options overriding', () => {
    const body = openai.toUpstream(
      makeReq({ body: clientBody, model: 'llama2:13b', temperature: 0.3, top_p: 0.9, top_k: 20, stream: true, includeUsage: true }),
      chatCtx,
    );
    assert.deepEqual(body, {
      ...clientBody,
      model: 'llama2:13b',
      temperature: 0.3,
      top_p: 0.9,
      top_k: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('options not given keep the body values; stream_options dropped when not streaming', () => {
    const body = openai.toUpstream(makeReq({ body: clientBody, max_tokens: 50, stream: false }), chatCtx);
    const { stream_options: _so, ...rest } = clientBody;
    assert.deepEqual(body, { ...rest, model: 'llama2', stream: false });
  });

  test('include_usage is added when streaming with includeUsage', () => {
    const body = openai.toUpstream(makeReq({ body: { prompt: 'Hi' }, kind: 'completions', stream: true, includeUsage: true }), cmplCtx);
    assert.deepEqual(body, { prompt: 'Hi', model: 'llama2', stream: true, stream_options: { include_usage: true } });
  });

  test('does not modify the client body object', () => {
    const original = structuredClone(clientBody);
    openai.toUpstream(makeReq({ body: clientBody, temperature: 0 }), chatCtx);
    assert.deepEqual(clientBody, original);
  });
});

describe('openai fromUpstream', () => {
  test("openai-chat-completion.json passes through, with our own id and the route's model name", () => {
    const fx = fixtureJson('openai-chat-completion.json');
    const out = openai.fromUpstream(fx, makeReq(), chatCtx);
    assert.match(out.id, /^chatcmpl-.+/);
    assert.notEqual(out.id, fx.id);
    assert.deepEqual({ ...out, id: fx.id }, { ...fx, model: 'llama2' });
  });

  test('TGI-like answer: empty id, eos_token, no usage, no model, no object', () => {
    const before = Math.floor(Date.now() / 1000);
    const out = openai.fromUpstream(
      { id: '', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'eos_token' }] },
      makeReq(),
      chatCtx,
    ) as ChatCompletion;
    assert.match(out.id, /^chatcmpl-.+/);
    assert.equal(out.object, 'chat.completion');
    assert.ok(Number.isInteger(out.created) && out.created >= before);
    assert.equal(out.model, 'llama2');
    assert.deepEqual(out.choices, [{ index: 0, message: { role: 'assistant', content: 'Hi' }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(out.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  test('completions: text_completion with choices[].text; stop_sequence maps to stop; partial usage summed', () => {
    const out = openai.fromUpstream(
      {
        id: 'cmpl-1',
        object: 'text_completion',
        created: 1700000000,
        model: 'm',
        choices: [{ index: 0, text: 'x', finish_reason: 'stop_sequence' }],
        usage: { prompt_tokens: 3 },
      },
      makeReq({ kind: 'completions' }),
      cmplCtx,
    ) as TextCompletion;
    assert.match(out.id, /^cmpl-.+/);
    assert.deepEqual(
      { ...out, id: 'cmpl-1' },
      {
        id: 'cmpl-1',
        object: 'text_completion',
        created: 1700000000,
        model: 'llama2',
        choices: [{ index: 0, text: 'x', logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
      },
    );
  });

  test('an error body and an unknown shape are UpstreamFormatErrors', () => {
    assert.throws(
      () => openai.fromUpstream(fixtureJson('openai-error.json'), makeReq(), chatCtx),
      /upstream answered with an error: The model `llama-9` does not exist/,
    );
    assert.throws(() => openai.fromUpstream({ foo: 1 }, makeReq(), chatCtx), UpstreamFormatError);
    assert.throws(() => openai.fromUpstream([], makeReq(), chatCtx), UpstreamFormatError);
  });
});

function runStream(messages: unknown[]): StreamEvent[] {
  const state: StreamState = {};
  return messages.flatMap((m) => openai.fromStreamMessage(m, makeReq({ stream: true }), chatCtx, state));
}

describe('openai fromStreamMessage', () => {
  for (const file of ['openai-chat-chunk.sse', 'ollama-openai-chat-stream.sse']) {
    test(`${file}: chunks pass through, usage chunk carries usage, [DONE] is done`, () => {
      const messages = fixtureSse(file);
      const events = runStream(messages);
      assert.equal(events.length, messages.length);
      assert.deepEqual(events.at(-1), { type: 'done' });
      const chunks = events.slice(0, -1);
      chunks.forEach((e, i) => assert.deepEqual(e.type === 'chunk' && e.chunk, messages[i]));
      assert.deepEqual(
        chunks.map((e) => e.type === 'chunk' && e.usage !== undefined),
        [false, false, false, true],
      );
      const usage = (messages[3] as { usage: unknown }).usage;
      assert.deepEqual(chunks[3]?.type === 'chunk' && chunks[3].usage, usage);
    });
  }

  test("TGI's eos_token inside a chunk maps to stop; null stays null", () => {
    const [a] = runStream([{ id: '', choices: [{ index: 0, text: 'x', finish_reason: null }] }]);
    const [b] = runStream([{ id: '', choices: [{ index: 0, text: '', finish_reason: 'eos_token' }] }]);
    assert.deepEqual(a, { type: 'chunk', chunk: { id: '', choices: [{ index: 0, text: 'x', finish_reason: null }] } });
    assert.deepEqual(b, { type: 'chunk', chunk: { id: '', choices: [{ index: 0, text: '', finish_reason: 'stop' }] } });
  });

  test('error events: OpenAI, llama.cpp (integer code) and a string error', () => {
    assert.deepEqual(runStream([fixtureJson('openai-error.json')]), [
      {
        type: 'error',
        message: 'The model `llama-9` does not exist or you do not have access to it.',
        errorType: 'invalid_request_error',
        code: 'model_not_found',
      },
    ]);
    assert.deepEqual(runStream([{ error: { code: 500, message: 'boom', type: 'server_error' } }]), [
      // The integer code is the HTTP status: the type a 500 gets, never a code.
      { type: 'error', message: 'boom', errorType: 'api_error', code: null },
    ]);
    assert.deepEqual(runStream([{ error: 'overloaded', error_type: 'overloaded' }]), [
      { type: 'error', message: 'overloaded', errorType: 'rate_limit_error', code: 'server_overloaded' },
    ]);
    assert.deepEqual(
      runStream([
        {
          error: {
            code: 400,
            message: 'request (608 tokens) exceeds the available context size (512 tokens), try increasing it',
            type: 'exceed_context_size_error',
            n_prompt_tokens: 608,
            n_ctx: 512,
          },
        },
      ]),
      [
        {
          type: 'error',
          message: 'request (608 tokens) exceeds the available context size (512 tokens), try increasing it',
          errorType: 'invalid_request_error',
          code: 'context_length_exceeded',
        },
      ],
    );
  });

  const bad: Array<[string, unknown]> = [
    ['a string other than [DONE]', 'hello'],
    ['a number', 1],
    ['an object without choices, usage or error', { id: 'x' }],
  ];
  for (const [name, message] of bad) {
    test(`UpstreamFormatError: ${name}`, () => assert.throws(() => runStream([message]), UpstreamFormatError));
  }
});
