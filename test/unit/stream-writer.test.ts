import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiSseWriter, type SseWriterOptions } from '../../lib/stream/openai-sse-writer';
import type { StreamEvent } from '../../lib/formats/format';

const META = { id: 'chatcmpl-abc', created: 1700000000, model: 'llama2' };
const USAGE = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };

function run(opts: Partial<SseWriterOptions>, events: StreamEvent[]): { text: string; writer: OpenAiSseWriter } {
  const writer = new OpenAiSseWriter({ kind: 'chat', includeUsage: false, ...META, ...opts });
  let text = '';
  for (const e of events) text += writer.write(e);
  return { text, writer };
}

/** Splits SSE text into frames, checking the exact `data: …\n\n` framing. */
function frames(text: string): string[] {
  assert.ok(text.endsWith('\n\n'), 'ends with a blank line');
  const parts = text.slice(0, -2).split('\n\n');
  for (const p of parts) assert.match(p, /^data: [^\n]+$/);
  return parts.map((p) => p.slice('data: '.length));
}

describe('OpenAiSseWriter, chat', () => {
  test('exact frames: role on the first chunk, content pieces, finish chunk, [DONE]', () => {
    const { text, writer } = run({}, [
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo "é" 🦙\n' },
      { type: 'finish', finishReason: 'stop', usage: USAGE },
    ]);
    const head = '{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"llama2","choices":[{"index":0,';
    assert.equal(
      text,
      `data: ${head}"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${head}"delta":{"content":"lo \\"é\\" 🦙\\n"},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${head}"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n` +
        'data: [DONE]\n\n',
    );
    assert.equal(writer.outcome, 'complete');
    assert.deepEqual(writer.usage, USAGE);
  });

  test('finish first: a role chunk with content "" precedes the finish chunk', () => {
    const { text } = run({}, [{ type: 'finish', finishReason: 'length' }]);
    const f = frames(text).map((s) => (s === '[DONE]' ? s : JSON.parse(s)));
    assert.equal(f.length, 3);
    assert.deepEqual(f[0].choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    assert.deepEqual(f[1].choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'length' }]);
    assert.equal(f[2], '[DONE]');
  });

  test('empty text pieces are not sent; role goes with the first real content', () => {
    const { text } = run({}, [
      { type: 'text', text: '' },
      { type: 'text', text: 'x' },
      { type: 'text', text: '' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const f = frames(text);
    assert.equal(f.length, 3);
    assert.deepEqual(JSON.parse(f[0]!).choices[0].delta, { role: 'assistant', content: 'x' });
  });

  test('includeUsage: usage:null on every chunk, then the usage chunk before [DONE]', () => {
    const { text } = run({ includeUsage: true }, [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
      { type: 'finish', finishReason: 'stop', usage: USAGE },
    ]);
    const f = frames(text);
    assert.equal(f.length, 5);
    assert.equal(f[4], '[DONE]');
    for (const s of f.slice(0, 3)) assert.equal(JSON.parse(s).usage, null);
    assert.equal(
      f[3],
      '{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"llama2","choices":[],' +
        '"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}',
    );
  });

  test('includeUsage with unknown usage: zeros, like non-streamed answers', () => {
    const { text, writer } = run({ includeUsage: true }, [
      { type: 'text', text: 'a' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const f = frames(text);
    assert.deepEqual(JSON.parse(f[2]!).usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    assert.equal(writer.usage, undefined);
  });

  test('no usage chunk and no usage key without includeUsage', () => {
    const { text } = run({}, [
      { type: 'text', text: 'a' },
      { type: 'finish', finishReason: 'stop', usage: USAGE },
    ]);
    assert.ok(!text.includes('usage'));
  });

  test('every chunk shares id, created and model', () => {
    const { text } = run({ includeUsage: true }, [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
      { type: 'finish', finishReason: 'stop', usage: USAGE },
    ]);
    const chunks = frames(text)
      .filter((s) => s !== '[DONE]')
      .map((s) => JSON.parse(s));
    assert.equal(chunks.length, 4);
    for (const c of chunks) {
      assert.equal(c.id, META.id);
      assert.equal(c.created, META.created);
      assert.equal(c.model, META.model);
      assert.equal(c.object, 'chat.completion.chunk');
    }
  });

  test('error event: one error frame in OpenAI shape, no [DONE], nothing after', () => {
    const { text, writer } = run({}, [
      { type: 'text', text: 'a' },
      { type: 'error', message: 'model crashed', errorType: 'server_error', code: 'boom' },
      { type: 'text', text: 'ignored' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const f = frames(text);
    assert.equal(f.length, 2);
    assert.equal(f[1], '{"error":{"message":"model crashed","type":"server_error","param":null,"code":"boom"}}');
    assert.ok(!text.includes('[DONE]'));
    assert.equal(writer.outcome, 'error');
    assert.equal(writer.ended, true);
  });

  test('error defaults: type api_error, code null', () => {
    const { text } = run({}, [{ type: 'error', message: 'x' }]);
    assert.equal(text, 'data: {"error":{"message":"x","type":"api_error","param":null,"code":null}}\n\n');
  });

  test('error() with outcome truncated', () => {
    const writer = new OpenAiSseWriter({ kind: 'chat', includeUsage: false, ...META });
    writer.write({ type: 'text', text: 'a' });
    const text = writer.error('cut off', 'api_error', null, 'truncated');
    assert.equal(text, 'data: {"error":{"message":"cut off","type":"api_error","param":null,"code":null}}\n\n');
    assert.equal(writer.outcome, 'truncated');
    assert.equal(writer.error('again'), '');
    assert.equal(writer.write({ type: 'done' }), '');
  });
});

describe('OpenAiSseWriter, completions', () => {
  test('exact frames: text chunks, then text "" with finish_reason, [DONE]', () => {
    const { text, writer } = run({ kind: 'completions', id: 'cmpl-1' }, [
      { type: 'text', text: ' The' },
      { type: 'text', text: ' sum' },
      { type: 'finish', finishReason: 'length', usage: USAGE },
    ]);
    const head = '{"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"llama2","choices":[{"index":0,';
    assert.equal(
      text,
      `data: ${head}"text":" The","logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${head}"text":" sum","logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${head}"text":"","logprobs":null,"finish_reason":"length"}]}\n\n` +
        'data: [DONE]\n\n',
    );
    assert.equal(writer.outcome, 'complete');
  });

  test('includeUsage: usage chunk of object text_completion with choices []', () => {
    const { text } = run({ kind: 'completions', includeUsage: true }, [
      { type: 'text', text: 'x' },
      { type: 'finish', finishReason: 'stop', usage: USAGE },
    ]);
    const f = frames(text);
    assert.equal(f.length, 4);
    assert.equal(JSON.parse(f[0]!).usage, null);
    assert.deepEqual(JSON.parse(f[2]!), { ...META, object: 'text_completion', choices: [], usage: USAGE });
  });
});

describe('OpenAiSseWriter, openai passthrough chunks', () => {
  const upstream = (extra: Record<string, unknown>): Record<string, unknown> => ({
    id: 'chatcmpl-123',
    object: 'chat.completion.chunk',
    created: 1691174339,
    model: 'llama3.2',
    system_fingerprint: 'fp_ollama',
    ...extra,
  });

  test('id, created, model normalised, object per kind, other fields kept; done → [DONE]', () => {
    const { text, writer } = run({}, [
      { type: 'chunk', chunk: upstream({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] }) },
      { type: 'done' },
    ]);
    assert.equal(
      text,
      'data: {"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"llama2",' +
        '"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n' +
        'data: [DONE]\n\n',
    );
    assert.equal(writer.outcome, 'complete');
  });

  test('completions kind sets object text_completion', () => {
    const { text } = run({ kind: 'completions' }, [
      { type: 'chunk', chunk: upstream({ object: 'whatever', choices: [{ index: 0, text: 'x', finish_reason: null }] }) },
    ]);
    assert.equal(JSON.parse(frames(text)[0]!).object, 'text_completion');
  });

  test('usage recorded from the event or the chunk; usage-only chunk passed when the client asked', () => {
    const { text, writer } = run({ includeUsage: true }, [{ type: 'chunk', chunk: upstream({ choices: [], usage: USAGE }) }, { type: 'done' }]);
    assert.deepEqual(writer.usage, USAGE);
    assert.deepEqual(JSON.parse(frames(text)[0]!).usage, USAGE);
  });

  test('usage-only chunk the client did not ask for is withheld, but counted', () => {
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    const { text, writer } = run({}, [
      { type: 'chunk', chunk: upstream({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) },
      { type: 'chunk', chunk: upstream({ choices: [], usage }), usage },
      { type: 'done' },
    ]);
    assert.equal(frames(text).length, 2);
    assert.ok(!text.includes('"usage"'));
    assert.deepEqual(writer.usage, usage);
  });
});
