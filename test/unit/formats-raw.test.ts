import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamFormatError } from '../../lib/errors';
import type { ChatCompletion, TextCompletion } from '../../lib/openai-types';
import type { StreamEvent, StreamState } from '../../lib/formats/format';
import { getFormat, rawDialectFor, rawStreamPath } from '../../lib/formats';
import { fixtureJson, fixtureSse, makeCtx, makeReq } from '../fixtures/formats-load';

const raw = getFormat('raw');
const tgi = makeCtx({ format: 'raw', rawDialect: 'tgi' });
const llamacpp = makeCtx({ format: 'raw', rawDialect: 'llamacpp' });
const tgiCompletions = makeCtx({ format: 'raw', rawDialect: 'tgi', routeType: 'llm/v1/completions' });

const mathMessages = [
  { role: 'system', content: 'You are a mathematician.' },
  { role: 'user', content: 'What is 1 + 2?' },
];
const mathPrompt = '[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 2? [/INST]';

describe('raw dialect helpers', () => {
  const dialects: Array<[string, 'auto' | 'tgi' | 'llamacpp', 'tgi' | 'llamacpp']> = [
    ['/completion', 'auto', 'llamacpp'],
    ['/completions', 'auto', 'llamacpp'],
    ['/v1/x/completion/', 'auto', 'llamacpp'],
    ['/completion?x=1', 'auto', 'llamacpp'],
    ['/generate', 'auto', 'tgi'],
    ['/', 'auto', 'tgi'],
    ['/models/meta-llama/Llama-2-7b-chat-hf', 'auto', 'tgi'],
    ['/generate', 'llamacpp', 'llamacpp'],
    ['/completion', 'tgi', 'tgi'],
  ];
  for (const [path, option, expected] of dialects) {
    test(`rawDialectFor(${path}, ${option}) = ${expected}`, () => assert.equal(rawDialectFor(path, option), expected));
  }
  const paths: Array<[string, 'tgi' | 'llamacpp', string]> = [
    ['/generate', 'tgi', '/generate_stream'],
    ['/v2/generate?token=a', 'tgi', '/v2/generate_stream?token=a'],
    ['/generate_stream', 'tgi', '/generate_stream'],
    ['/', 'tgi', '/'],
    ['/completion', 'llamacpp', '/completion'],
  ];
  for (const [path, dialect, expected] of paths) {
    test(`rawStreamPath(${path}, ${dialect}) = ${expected}`, () => assert.equal(rawStreamPath(path, dialect), expected));
  }
});

describe('raw toUpstream', () => {
  test('TGI: the body of tgi-generate-request.json', () => {
    const fx = fixtureJson('tgi-generate-request.json');
    const body = raw.toUpstream(makeReq({ messages: mathMessages, max_tokens: 256, temperature: 0.5, top_p: 0.95, top_k: 40, stop: ['</s>'] }), tgi);
    const { seed: _seed, ...parameters } = fx.parameters;
    assert.deepEqual(body, { inputs: fx.inputs, parameters, stream: false });
  });

  test('TGI: stream is top-level and only given values are sent', () => {
    assert.deepEqual(raw.toUpstream(makeReq({ stream: true }), tgi), {
      inputs: '[INST] Hi [/INST]',
      parameters: { details: true, return_full_text: false },
      stream: true,
    });
  });

  const tgiParams: Array<[string, Record<string, number>, Record<string, unknown>]> = [
    ['top_p 1 is left out', { top_p: 1 }, {}],
    ['top_p 0 is left out', { top_p: 0 }, {}],
    ['top_p 0.9 is kept', { top_p: 0.9 }, { top_p: 0.9 }],
    ['temperature 0 becomes do_sample false', { temperature: 0 }, { do_sample: false }],
    ['temperature 0.7 is kept', { temperature: 0.7 }, { temperature: 0.7 }],
    ['top_k 0 is left out', { top_k: 0 }, {}],
    ['top_k 40 is kept', { top_k: 40 }, { top_k: 40 }],
    ['Kong fixture values', { max_tokens: 512, temperature: 0.5, top_k: 40, top_p: 1 }, { max_new_tokens: 512, temperature: 0.5, top_k: 40 }],
  ];
  for (const [name, opts, expected] of tgiParams) {
    test(`TGI parameters: ${name}`, () => {
      const body = raw.toUpstream(makeReq(opts), tgi) as { parameters: Record<string, unknown> };
      assert.deepEqual(body.parameters, { ...expected, details: true, return_full_text: false });
    });
  }

  test('llama.cpp: the body of llamacpp-completion-request.json, values as given', () => {
    const fx = fixtureJson('llamacpp-completion-request.json');
    const body = raw.toUpstream(makeReq({ messages: mathMessages, max_tokens: 128, temperature: 0.5, top_k: 40, top_p: 0.95, stop: ['</s>'] }), llamacpp);
    const { seed: _s, cache_prompt: _c, ...expected } = fx;
    assert.deepEqual(body, expected);
    assert.deepEqual(raw.toUpstream(makeReq({ temperature: 0, top_p: 1, top_k: 0, stream: true }), llamacpp), {
      prompt: '[INST] Hi [/INST]',
      temperature: 0,
      top_p: 1,
      top_k: 0,
      stream: true,
    });
  });

  test('completions: a plain prompt is wrapped, an [INST] prompt is sent as is', () => {
    assert.equal((raw.toUpstream(makeReq({ kind: 'completions', prompt: ' Why? ' }), tgi) as any).inputs, '[INST] Why? [/INST]');
    const templated = '[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]';
    assert.equal((raw.toUpstream(makeReq({ kind: 'completions', prompt: templated }), llamacpp) as any).prompt, templated);
  });

  test('a dialog the template cannot express is a 400', () => {
    assert.throws(() => raw.toUpstream(makeReq({ messages: [{ role: 'tool', content: 'x' }] }), tgi), { status: 400 });
  });
});

describe('raw fromUpstream', () => {
  const chatReq = makeReq({ messages: mathMessages });
  const shapes: Array<[string, unknown, string, string, number, number]> = [
    ['TGI {generated_text, details}', fixtureJson('tgi-generate-response.json'), 'for /api/v1/projects/1', 'length', 0, 10],
    ['HF [{generated_text}] with the prompt echoed', fixtureJson('hf-inference-response.json'), 'The sum of 1 + 2 is 3.', 'stop', 0, 0],
    ['llama.cpp {content, stop_type, …}', fixtureJson('llamacpp-completion.json'), 'The sum of 1 + 2 is 3.', 'stop', 28, 12],
    ['{responses: string} (Kong docs)', { responses: ' Three.' }, 'Three.', 'stop', 0, 0],
    ['{responses: [{generated_text}]}', { responses: [{ generated_text: 'Three.' }] }, 'Three.', 'stop', 0, 0],
    ['{responses: {generated_text}}', { responses: { generated_text: 'Three.' } }, 'Three.', 'stop', 0, 0],
    ['{data: [{generated_text}]} (Kong fixture shape)', { data: [{ generated_text: 'Three.' }] }, 'Three.', 'stop', 0, 0],
    ['echo with a leading <s>', [{ generated_text: `<s>${mathPrompt} 3` }], '3', 'stop', 0, 0],
    ['echo with a leading "<s> "', [{ generated_text: `<s> ${mathPrompt} 3` }], '3', 'stop', 0, 0],
    ['TGI stop_sequence / eos_token', { generated_text: 'x', details: { finish_reason: 'eos_token', generated_tokens: 2 } }, 'x', 'stop', 0, 2],
    ['llama.cpp limit', { content: 'x', stop_type: 'limit', tokens_evaluated: 5, tokens_predicted: 7 }, 'x', 'length', 5, 7],
    ['llama.cpp word', { content: 'x', stop_type: 'word' }, 'x', 'stop', 0, 0],
  ];
  for (const [name, body, text, finish, prompt, completion] of shapes) {
    test(name, () => {
      const out = raw.fromUpstream(body, chatReq, tgi) as ChatCompletion;
      assert.equal(out.object, 'chat.completion');
      assert.match(out.id, /^chatcmpl-.+/);
      assert.ok(Number.isInteger(out.created));
      assert.deepEqual(out.choices, [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }]);
      assert.deepEqual(out.usage, { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
    });
  }

  test("model is the request's (the route's name), never llama.cpp's file path", () => {
    assert.equal(raw.fromUpstream(fixtureJson('llamacpp-completion.json'), chatReq, llamacpp).model, 'llama2');
    assert.equal(raw.fromUpstream(fixtureJson('tgi-generate-response.json'), chatReq, tgi).model, 'llama2');
  });

  test('an answer that itself contains [/INST] is kept whole', () => {
    const answer = 'Llama 2 closes a turn with [/INST] and then answers.';
    const out = raw.fromUpstream([{ generated_text: `${mathPrompt} ${answer}` }], chatReq, tgi) as ChatCompletion;
    assert.equal(out.choices[0]?.message.content, answer);
    const unechoed = raw.fromUpstream({ generated_text: answer }, chatReq, tgi) as ChatCompletion;
    assert.equal(unechoed.choices[0]?.message.content, answer);
  });

  test("Kong's fixture with its prompt echoed, on the completions route", () => {
    const fx = fixtureJson('llama2-prompt-meta-vs-kong.json').kong_raw_response_fixture_it_parses;
    const req = makeReq({ kind: 'completions', prompt: '[INST]\nWhat is Sans? ?\n[/INST]' });
    const out = raw.fromUpstream(fx, req, tgiCompletions) as TextCompletion;
    assert.equal(out.object, 'text_completion');
    assert.match(out.id, /^cmpl-.+/);
    assert.deepEqual(out.choices, [{ index: 0, text: 'Is a well known font.', logprobs: null, finish_reason: 'stop' }]);
  });

  const unreadable: Array<[string, unknown, RegExp]> = [
    ['an object without a known field', { foo: 1 }, /cannot read the llama2 raw upstream answer/],
    ['an empty array', [], /cannot read/],
    ['a number', 42, /cannot read/],
    ['null', null, /cannot read/],
    ['{data: []}', { data: [] }, /cannot read/],
    ['a TGI error body', fixtureJson('tgi-error.json'), /answered with an error: Input validation error/],
    ['a llama.cpp error body', fixtureJson('llamacpp-error.json'), /answered with an error: .*key 'prompt' not found/],
  ];
  for (const [name, body, message] of unreadable) {
    test(`UpstreamFormatError: ${name}`, () => {
      assert.throws(
        () => raw.fromUpstream(body, chatReq, tgi),
        (err: unknown) => err instanceof UpstreamFormatError && message.test(err.message),
      );
    });
  }
});

function runStream(messages: unknown[], ctx = tgi): StreamEvent[] {
  const state: StreamState = {};
  return messages.flatMap((m) => raw.fromStreamMessage(m, makeReq({ stream: true }), ctx, state));
}

describe('raw fromStreamMessage', () => {
  test('TGI /generate_stream: tokens, leading space trimmed, final event with details', () => {
    assert.deepEqual(runStream(fixtureSse('tgi-generate-stream.sse')), [
      { type: 'text', text: 'The' },
      { type: 'text', text: ' sum' },
      { type: 'text', text: ' is' },
      { type: 'finish', finishReason: 'length', usage: { prompt_tokens: 28, completion_tokens: 3, total_tokens: 31 } },
    ]);
  });

  test('TGI: special tokens are skipped, details null → stop with zero usage', () => {
    const tok = (text: string, special = false) => ({ token: { id: 1, text, logprob: 0, special } });
    assert.deepEqual(
      runStream([
        { ...tok(' '), generated_text: null, details: null },
        { ...tok(' Hi'), generated_text: null, details: null },
        { ...tok('</s>', true), generated_text: ' Hi', details: null },
      ]),
      [
        { type: 'text', text: 'Hi' },
        { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } },
      ],
    );
  });

  test('TGI: eos_token finish reason maps to stop', () => {
    const events = runStream([
      { token: { text: 'x', special: false }, generated_text: 'x', details: { finish_reason: 'eos_token', generated_tokens: 1, input_length: 4 } },
    ]);
    assert.deepEqual(events.at(-1), { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 } });
  });

  test('TGI: an error event', () => {
    assert.deepEqual(runStream([fixtureJson('tgi-error.json')]), [
      // As TGI's HTTP 422 for the same error reads.
      { type: 'error', message: 'Input validation error: `top_p` must be > 0.0 and < 1.0', errorType: 'invalid_request_error', code: 'validation' },
    ]);
  });

  test('llama.cpp /completion: content, empty final content, stop_type and counts', () => {
    assert.deepEqual(runStream(fixtureSse('llamacpp-completion-stream.sse'), llamacpp), [
      { type: 'text', text: 'The' },
      { type: 'text', text: ' sum' },
      { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 28, completion_tokens: 3, total_tokens: 31 } },
    ]);
  });

  test('llama.cpp: final content is emitted, limit → length', () => {
    assert.deepEqual(runStream([{ content: 'end', stop: true, stop_type: 'limit', tokens_evaluated: 1, tokens_predicted: 2 }], llamacpp), [
      { type: 'text', text: 'end' },
      { type: 'finish', finishReason: 'length', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ]);
  });

  test('llama.cpp: an error event', () => {
    assert.deepEqual(runStream([fixtureJson('llamacpp-error.json')], llamacpp), [
      { type: 'error', message: "[json.exception.out_of_range.403] key 'prompt' not found", errorType: 'invalid_request_error', code: null },
    ]);
  });

  const bad: Array<[string, unknown, 'tgi' | 'llamacpp']> = [
    ['a string', 'hello', 'tgi'],
    ['[DONE]', '[DONE]', 'llamacpp'],
    ['an unknown TGI object', { foo: 1 }, 'tgi'],
    ['an unknown llama.cpp object', { foo: 1 }, 'llamacpp'],
    ['an array', [1], 'tgi'],
  ];
  for (const [name, message, dialect] of bad) {
    test(`UpstreamFormatError: ${name}`, () => {
      assert.throws(() => runStream([message], dialect === 'tgi' ? tgi : llamacpp), UpstreamFormatError);
    });
  }
});
