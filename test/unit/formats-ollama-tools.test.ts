import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatCompletion } from '../../lib/openai-types';
import { getFormat } from '../../lib/formats';
import { fromOllamaStreamLine } from '../../lib/formats/ollama';
import { OpenAiSseWriter } from '../../lib/stream/openai-sse-writer';
import { makeCtx, makeReq } from '../fixtures/formats-load';

const ollama = getFormat('ollama');
const chatCtx = makeCtx({ format: 'ollama' });
const CALL = { function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } };

describe('ollama answers: tool calls, thinking, logprobs', () => {
  test('tool calls: call_ ids, arguments as a JSON string, finish_reason tool_calls, content null', () => {
    const c = ollama.fromUpstream(
      {
        model: 'llama2',
        created_at: '2024-12-06T00:46:58Z',
        message: { role: 'assistant', content: '', tool_calls: [CALL, { id: 'call_own', function: { name: 'f', arguments: {} } }] },
        done: true,
        done_reason: 'stop',
      },
      makeReq(),
      chatCtx,
    ) as ChatCompletion;
    const choice = c.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const calls = choice.message.tool_calls as Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    assert.match(calls[0]!.id, /^call_/);
    assert.notEqual(calls[0]!.id, calls[1]!.id);
    assert.deepEqual(
      calls.map((x) => [x.type, x.function.name, x.function.arguments]),
      [
        ['function', 'get_weather', '{"city":"Paris"}'],
        ['function', 'f', '{}'],
      ],
    );
    assert.equal(calls[1]!.id, 'call_own', "Ollama's own id is kept");
  });

  test('thinking → reasoning_content; logprobs → choices[0].logprobs.content', () => {
    const c = ollama.fromUpstream(
      {
        model: 'llama2',
        message: { role: 'assistant', content: '3', thinking: 'one plus two' },
        done: true,
        logprobs: [{ token: '3', logprob: -0.1, bytes: [51], top_logprobs: [{ token: '3', logprob: -0.1 }] }],
      },
      makeReq(),
      chatCtx,
    ) as ChatCompletion;
    assert.equal(c.choices[0]!.message.reasoning_content, 'one plus two');
    assert.equal(c.choices[0]!.message.content, '3');
    assert.deepEqual(c.choices[0]!.logprobs, {
      content: [{ token: '3', logprob: -0.1, bytes: [51], top_logprobs: [{ token: '3', logprob: -0.1, bytes: null }] }],
      refusal: null,
    });
  });

  test('stream lines → reasoning, tool_call and text events', () => {
    assert.deepEqual(fromOllamaStreamLine({ model: 'm', message: { role: 'assistant', content: '', thinking: 'hmm' }, done: false }), [
      { type: 'reasoning', text: 'hmm' },
    ]);
    const [call] = fromOllamaStreamLine({ model: 'm', message: { role: 'assistant', content: '', tool_calls: [CALL] }, done: false });
    assert.equal(call?.type, 'tool_call');
    assert.ok(call?.type === 'tool_call' && call.name === 'get_weather' && call.arguments === '{"city":"Paris"}');
  });
});

describe('writer: a tool call anywhere makes the finish reason tool_calls', () => {
  test('call before the done line, whose done_reason is stop', () => {
    const w = new OpenAiSseWriter({ kind: 'chat', includeUsage: false, id: 'chatcmpl-1', created: 1, model: 'llama2' });
    let text = '';
    for (const line of [
      { model: 'm', message: { role: 'assistant', content: '', tool_calls: [CALL, CALL] }, done: false },
      { model: 'm', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' },
    ]) {
      for (const e of fromOllamaStreamLine(line)) text += w.write(e);
    }
    const chunks = text
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)));
    assert.deepEqual(chunks[0].choices[0].delta.role, 'assistant');
    assert.deepEqual(
      chunks.map((c) => c.choices[0].delta.tool_calls?.[0]?.index),
      [0, 1, undefined],
    );
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
    assert.ok(text.endsWith('data: [DONE]\n\n'));
  });
});
