import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, type ResolvedConfig } from '../../lib/config';
import { ProxyError } from '../../lib/errors';
import type { LlmRequest } from '../../lib/formats/format';
import { toLlmRequest } from '../../lib/llm-request';
import type { AiProxyConfig, ModelOptions } from '../../lib/types';

type Body = Record<string, unknown>;

interface RouteSetup {
  route_type?: AiProxyConfig['route_type'];
  name?: string;
  options?: ModelOptions;
  response_streaming?: AiProxyConfig['response_streaming'];
}

/** A resolved config as `aiProxy()` would hold it, built by the real validation. */
function route({ route_type = 'llm/v1/chat', name, options, response_streaming }: RouteSetup = {}): ResolvedConfig {
  return validateConfig({
    route_type,
    model: {
      provider: 'llama2',
      ...(name === undefined ? {} : { name }),
      options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat', ...options },
    },
    ...(response_streaming === undefined ? {} : { response_streaming }),
  });
}

const chat = route({ name: 'llama2' });
const completions = route({ route_type: 'llm/v1/completions', name: 'llama2' });
const MESSAGES = [
  { role: 'system', content: 'You are a mathematician' },
  { role: 'user', content: 'What is 1+1?' },
];

/** What the client sees: status, OpenAI error type and code, message. */
function rejection(body: Body, config: ResolvedConfig): { status: number; type: string; code: string | null; message: string } {
  try {
    toLlmRequest(body, config);
  } catch (err) {
    assert.ok(err instanceof ProxyError, `expected a ProxyError, got ${String(err)}`);
    return { status: err.status, type: err.type, code: err.code, message: err.message };
  }
  assert.fail('the body was accepted');
}

/** `undefined` means "not given"; compare only what was given. */
function given(req: LlmRequest): Partial<LlmRequest> {
  return Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined));
}

function bad(message: string, code: string | null = null) {
  return { status: 400, type: 'invalid_request_error', code, message };
}

describe('toLlmRequest: a valid body becomes an LlmRequest', () => {
  test("the issue's chat body", () => {
    const body = { messages: MESSAGES };
    assert.deepEqual(given(toLlmRequest(body, chat)), {
      kind: 'chat',
      model: 'llama2',
      stream: false,
      includeUsage: false,
      messages: MESSAGES,
      body,
    } satisfies LlmRequest);
  });

  test('a completions body with every tuning field', () => {
    const body = { prompt: 'Once upon a time', max_tokens: 20, temperature: 0.5, top_p: 0.9, top_k: 40, stop: ['\n', 'The end'], stream: true };
    assert.deepEqual(given(toLlmRequest(body, completions)), {
      kind: 'completions',
      model: 'llama2',
      stream: true,
      includeUsage: false,
      max_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: ['\n', 'The end'],
      prompt: 'Once upon a time',
      body,
    } satisfies LlmRequest);
  });

  const shapes: Array<[string, Body, ResolvedConfig, Partial<LlmRequest>]> = [
    ['a one-element prompt array (the openai SDK sends these)', { prompt: ['Hi'] }, completions, { prompt: 'Hi' }],
    ['an empty prompt string', { prompt: '' }, completions, { prompt: '' }],
    ['stop as a string becomes an array', { messages: MESSAGES, stop: '</s>' }, chat, { stop: ['</s>'] }],
    ['stop null is no stop', { messages: MESSAGES, stop: null }, chat, { stop: undefined }],
    ['an empty stop array stays empty', { messages: MESSAGES, stop: [] }, chat, { stop: [] }],
    [
      'content as an array of text parts is joined with newlines',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Line one' },
              { type: 'text', text: 'Line two' },
            ],
          },
        ],
      },
      chat,
      { messages: [{ role: 'user', content: 'Line one\nLine two' }] },
    ],
    [
      'content null (an assistant turn with tool calls) is empty text',
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: null },
          { role: 'user', content: 'Again' },
        ],
      },
      chat,
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: '' },
          { role: 'user', content: 'Again' },
        ],
      },
    ],
    [
      'extra message fields are dropped from messages (kept in body)',
      { messages: [{ role: 'user', content: 'Hi', name: 'bob' }] },
      chat,
      { messages: [{ role: 'user', content: 'Hi' }] },
    ],
    ['zero is a value, not "unset"', { messages: MESSAGES, temperature: 0, top_p: 0, top_k: 0 }, chat, { temperature: 0, top_p: 0, top_k: 0 }],
    ['upper bounds are allowed', { messages: MESSAGES, temperature: 5, top_p: 1, top_k: 500 }, chat, { temperature: 5, top_p: 1, top_k: 500 }],
    ['null tuning values are unset', { messages: MESSAGES, max_tokens: null, temperature: null }, chat, { max_tokens: undefined, temperature: undefined }],
  ];
  for (const [name, body, config, expected] of shapes) {
    test(name, () => {
      const req = toLlmRequest(body, config);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(req[key as keyof LlmRequest], value, key);
      assert.equal(req.body, body);
    });
  }
});

describe('toLlmRequest: the route decides between messages and prompt', () => {
  const cases: Array<[string, Body, ResolvedConfig, ReturnType<typeof bad>]> = [
    ['chat: no messages', {}, chat, bad('this llm/v1/chat route expects "messages": a non-empty array of {role, content}')],
    ['chat: a prompt instead', { prompt: 'Hi' }, chat, bad('this llm/v1/chat route expects "messages": a non-empty array of {role, content}')],
    ['chat: empty messages', { messages: [] }, chat, bad('this llm/v1/chat route expects "messages": a non-empty array of {role, content}')],
    ['chat: messages as a string', { messages: 'Hi' }, chat, bad('this llm/v1/chat route expects "messages": a non-empty array of {role, content}')],
    ['chat: a message that is not an object', { messages: ['Hi'] }, chat, bad('messages[0] must be an object with a string "role" and "content"')],
    [
      'chat: a message without role',
      { messages: [{ role: 'user', content: 'a' }, { content: 'b' }] },
      chat,
      bad('messages[1] must be an object with a string "role" and "content"'),
    ],
    [
      'chat: content as a number',
      { messages: [{ role: 'user', content: 42 }] },
      chat,
      bad('"messages[0].content" must be a string or an array of content parts', 'invalid_value'),
    ],
    [
      'chat: an image part',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'http://x/y.png' } },
            ],
          },
        ],
      },
      chat,
      bad(
        '"messages[0].content[1].image_url.url" is not supported by llama2_format ollama: the proxy fetches nothing a client names: send the image as a data: URL (base64)',
        'unsupported_parameter',
      ),
    ],
    [
      'chat: both messages and prompt',
      { messages: MESSAGES, prompt: 'Hi' },
      chat,
      bad('the request has both "messages" and "prompt": this llm/v1/chat route expects only "messages"'),
    ],
    ['completions: no prompt', {}, completions, bad('this llm/v1/completions route expects "prompt": a string')],
    ['completions: messages instead', { messages: MESSAGES }, completions, bad('this llm/v1/completions route expects "prompt": a string')],
    ['completions: a prompt number', { prompt: 42 }, completions, bad('this llm/v1/completions route expects "prompt": a string')],
    ['completions: a batch of prompts', { prompt: ['a', 'b'] }, completions, bad('this llm/v1/completions route expects "prompt": a string')],
    ['completions: token ids', { prompt: [1, 2, 3] }, completions, bad('this llm/v1/completions route expects "prompt": a string')],
    [
      'completions: both messages and prompt',
      { messages: MESSAGES, prompt: 'Hi' },
      completions,
      bad('the request has both "messages" and "prompt": this llm/v1/completions route expects only "prompt"'),
    ],
  ];
  for (const [name, body, config, expected] of cases) {
    test(name, () => {
      assert.deepEqual(rejection(body, config), expected);
    });
  }
});

describe('toLlmRequest: model', () => {
  const open = route();
  const accepted: Array<[string, Body, ResolvedConfig, string]> = [
    ['configured name, none in the body', { messages: MESSAGES }, chat, 'llama2'],
    ['configured name, the same in the body', { messages: MESSAGES, model: 'llama2' }, chat, 'llama2'],
    ['configured name, an empty one in the body', { messages: MESSAGES, model: '' }, chat, 'llama2'],
    ['configured name, null in the body', { messages: MESSAGES, model: null }, chat, 'llama2'],
    ["no configured name: the body's is used", { messages: MESSAGES, model: 'mistral:7b' }, open, 'mistral:7b'],
  ];
  for (const [name, body, config, model] of accepted) {
    test(name, () => {
      assert.equal(toLlmRequest(body, config).model, model);
    });
  }

  const rejected: Array<[string, Body, ResolvedConfig, ReturnType<typeof bad>]> = [
    ['configured name, another in the body', { messages: MESSAGES, model: 'gpt-4' }, chat, bad('cannot use own model - must be: llama2', 'model_not_allowed')],
    [
      'configured name with a tag, the bare name in the body',
      { messages: MESSAGES, model: 'llama2' },
      route({ name: 'llama2:13b' }),
      bad('cannot use own model - must be: llama2:13b', 'model_not_allowed'),
    ],
    ['a model that is not a string', { messages: MESSAGES, model: 7 }, chat, bad('"model" must be a string')],
    [
      'neither configured nor in the body',
      { messages: MESSAGES },
      open,
      bad('model parameter not found in the request body or in the plugin config: send "model"'),
    ],
    [
      'not configured, empty in the body',
      { messages: MESSAGES, model: '' },
      open,
      bad('model parameter not found in the request body or in the plugin config: send "model"'),
    ],
  ];
  for (const [name, body, config, expected] of rejected) {
    test(name, () => {
      assert.deepEqual(rejection(body, config), expected);
    });
  }
});

describe('toLlmRequest: tuning options from the config and the body', () => {
  const tuned = route({
    name: 'llama2',
    options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat', max_tokens: 128, temperature: 0.2 },
  });

  test("configured options override the body's; the rest come from the body", () => {
    const req = toLlmRequest({ messages: MESSAGES, max_tokens: 4000, temperature: 1.5, top_p: 0.8, top_k: 20 }, tuned);
    assert.deepEqual(
      { max_tokens: req.max_tokens, temperature: req.temperature, top_p: req.top_p, top_k: req.top_k },
      { max_tokens: 128, temperature: 0.2, top_p: 0.8, top_k: 20 },
    );
  });

  test('configured options apply when the body has none', () => {
    const req = toLlmRequest({ messages: MESSAGES }, tuned);
    assert.deepEqual(
      { max_tokens: req.max_tokens, temperature: req.temperature, top_p: req.top_p, top_k: req.top_k },
      { max_tokens: 128, temperature: 0.2, top_p: undefined, top_k: undefined },
    );
  });

  test('a configured 0 still overrides the body', () => {
    const req = toLlmRequest({ messages: MESSAGES, top_k: 40 }, route({ name: 'llama2', options: { top_k: 0 } }));
    assert.equal(req.top_k, 0);
  });

  const outOfRange: Array<[string, unknown, string]> = [
    ['temperature', -0.5, '"temperature" must be a number between 0 and 5'],
    ['temperature', 5.5, '"temperature" must be a number between 0 and 5'],
    ['temperature', '0.7', '"temperature" must be a number between 0 and 5'],
    ['top_p', 1.01, '"top_p" must be a number between 0 and 1'],
    ['top_p', -0.01, '"top_p" must be a number between 0 and 1'],
    ['top_k', 501, '"top_k" must be an integer between 0 and 500'],
    ['top_k', 4.5, '"top_k" must be an integer between 0 and 500'],
    ['top_k', -1, '"top_k" must be an integer between 0 and 500'],
    ['max_tokens', 0, '"max_tokens" must be an integer >= 1'],
    ['max_tokens', 10.5, '"max_tokens" must be an integer >= 1'],
    ['max_tokens', '100', '"max_tokens" must be an integer >= 1'],
  ];
  for (const [key, value, message] of outOfRange) {
    test(`a body ${key} of ${JSON.stringify(value)} is a 400`, () => {
      assert.deepEqual(rejection({ messages: MESSAGES, [key]: value }, chat), bad(message, 'invalid_value'));
    });
  }

  const badStops: unknown[] = [42, [1, 2], ['a', null], { s: 'a' }];
  for (const stop of badStops) {
    test(`stop ${JSON.stringify(stop)} is a 400`, () => {
      assert.deepEqual(rejection({ messages: MESSAGES, stop }, chat), bad('"stop" must be a string or an array of strings'));
    });
  }
});

describe('toLlmRequest: streaming', () => {
  const deny = route({ name: 'llama2', response_streaming: 'deny' });
  const always = route({ name: 'llama2', response_streaming: 'always' });
  const cases: Array<[string, Body, ResolvedConfig, boolean]> = [
    ['allow, stream absent', {}, chat, false],
    ['allow, stream false', { stream: false }, chat, false],
    ['allow, stream null', { stream: null }, chat, false],
    ['allow, stream true', { stream: true }, chat, true],
    ['deny, stream false', { stream: false }, deny, false],
    ['deny, stream absent', {}, deny, false],
    ['always, stream absent', {}, always, true],
    ['always, stream false', { stream: false }, always, true],
  ];
  for (const [name, extra, config, stream] of cases) {
    test(`${name}: stream is ${stream}`, () => {
      assert.equal(toLlmRequest({ messages: MESSAGES, ...extra }, config).stream, stream);
    });
  }

  test('deny, stream true: 400 streaming_disabled', () => {
    assert.deepEqual(rejection({ messages: MESSAGES, stream: true }, deny), bad('response streaming is not enabled for this LLM', 'streaming_disabled'));
  });

  test('a stream that is not a boolean is a 400', () => {
    assert.deepEqual(rejection({ messages: MESSAGES, stream: 'true' }, chat), bad('"stream" must be a boolean'));
  });

  const usage: Array<[string, unknown, boolean]> = [
    ['include_usage true', { include_usage: true }, true],
    ['include_usage false', { include_usage: false }, false],
    ['include_usage "true" (not a boolean)', { include_usage: 'true' }, false],
    ['stream_options absent', undefined, false],
    ['stream_options not an object', true, false],
  ];
  for (const [name, streamOptions, includeUsage] of usage) {
    test(`stream_options: ${name}`, () => {
      const body = streamOptions === undefined ? { messages: MESSAGES, stream: true } : { messages: MESSAGES, stream: true, stream_options: streamOptions };
      assert.equal(toLlmRequest(body, chat).includeUsage, includeUsage);
    });
  }
});
