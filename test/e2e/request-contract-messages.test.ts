/**
 * The parts of `messages` a format cannot carry are refused with a 400 naming the part (never
 * dropped), and the openai format's limits apply whichever name the client used.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, type Json, startLlamaCpp, startOpenAi, startTgi } from '../support/upstreams';

let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;

before(async () => {
  [tgi, llama, openai] = await Promise.all([startTgi(), startLlamaCpp(), startOpenAi()]);
  proxy = await startApp((app) => {
    app.use('/tgi', aiProxy(llama2Config('chat', 'raw', `${tgi.url}/generate`)));
    app.use('/llamacpp', aiProxy(llama2Config('chat', 'raw', `${llama.url}/completion`)));
    app.use('/llamacpp-completions', aiProxy(llama2Config('completions', 'raw', `${llama.url}/completion`)));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`)));
    app.use('/openai-capped', aiProxy(llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`, { options: { max_tokens: 50, temperature: 0.1 } })));
    app.use('/openai-completions-capped', aiProxy(llama2Config('completions', 'openai', `${openai.url}/v1/completions`, { options: { max_tokens: 50 } })));
  });
});
after(() => Promise.all([proxy, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [tgi, llama, openai].forEach((s) => s.reset()));

const USER = { role: 'user', content: 'Weather in Paris?' };
const CALL = {
  role: 'assistant',
  content: null,
  tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
};
const RESULT = { role: 'tool', tool_call_id: 'call_1', content: '18' };

describe('raw: what the Llama 2 template cannot carry', () => {
  const cases: Array<[string, unknown[], string, RegExp]> = [
    ['a tool result', [USER, CALL, RESULT], 'messages[1].tool_calls', /no tool calls/],
    ['a tool result alone', [USER, RESULT], 'messages[1].role', /no tool results/],
    [
      'an image',
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
      'messages[0].content[1]',
      /no images/,
    ],
    [
      'an audio part',
      [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
      'messages[0].content[0]',
      /input_audio/,
    ],
  ];
  for (const mount of ['tgi', 'llamacpp'] as const) {
    for (const [name, messages, param, message] of cases) {
      test(`${mount}: ${name} → 400 naming ${param}`, async () => {
        const r = await post(`${proxy.url}/${mount}`, { messages });
        const e = assertOpenAiError(r, 400, message);
        assert.equal(e.code, 'unsupported_parameter');
        assert.equal((e as Json).param, param);
        assert.match(e.message, /llama2_format raw/);
        assert.equal((mount === 'tgi' ? tgi : llama).requests.length, 0);
      });
    }
  }

  test('developer messages are system messages', async () => {
    const r = await post(`${proxy.url}/llamacpp`, { messages: [{ role: 'developer', content: 'Be brief.' }, USER] });
    assert.equal(r.status, 200, r.text);
    assert.equal(llama.last().body.prompt, '[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWeather in Paris? [/INST]');
  });

  test('response_format json_object → TGI grammar {type: json, value: {type: object}}', async () => {
    const r = await post(`${proxy.url}/tgi`, { messages: [USER], response_format: { type: 'json_object' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(tgi.last().body.parameters.grammar, { type: 'json', value: { type: 'object' } });
  });

  for (const mount of ['tgi', 'llamacpp'] as const) {
    test(`${mount} logprobs, streamed: each content delta carries its token`, async () => {
      const r = await post(`${proxy.url}/${mount}`, { messages: [USER], stream: true, logprobs: true, top_logprobs: 2 });
      if (mount === 'llamacpp') assert.equal(llama.last().body.n_probs, 2);
      else assert.equal(tgi.last().body.parameters.top_n_tokens, 2);
      const chunks = sseData(r.text).filter((c) => typeof c === 'object' && c.choices?.[0]?.delta?.content);
      assert.ok(chunks.length > 1);
      for (const c of chunks) {
        assert.equal(c.choices[0].logprobs.content[0].token.trim(), c.choices[0].delta.content.trim());
        assert.equal(c.choices[0].logprobs.content[0].top_logprobs.length, 2);
      }
    });
  }

  test('completions logprobs, streamed: legacy logprobs on each text chunk', async () => {
    const r = await post(`${proxy.url}/llamacpp-completions`, { prompt: 'Hi', stream: true, logprobs: 1 });
    assert.equal(llama.last().body.n_probs, 1);
    const chunks = sseData(r.text).filter((c) => typeof c === 'object' && c.choices?.[0]?.text);
    assert.ok(chunks.length > 1);
    for (const c of chunks) {
      assert.equal(c.choices[0].logprobs.tokens.join('').trim(), c.choices[0].text.trim());
      assert.equal(Object.keys(c.choices[0].logprobs.top_logprobs[0]).length, 1);
    }
  });

  test("TGI top_logprobs above its --max-top-n-tokens: TGI's own 422 reaches the client", async () => {
    const r = await post(`${proxy.url}/tgi`, { messages: [USER], logprobs: true, top_logprobs: 8 });
    assertOpenAiError(r, 422, /top_n_tokens/);
  });

  test('llama.cpp logit_bias with a key that is not a token id: 400 naming logit_bias', async () => {
    const r = await post(`${proxy.url}/llamacpp`, { messages: [USER], logit_bias: { hello: 5 } });
    const e = assertOpenAiError(r, 400);
    assert.equal((e as Json).param, 'logit_bias');
  });
});

describe('openai: passed as is, the config applies whichever name the client used', () => {
  test('tools, tool history and images pass untouched', async () => {
    const messages = [USER, CALL, RESULT, { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }];
    const r = await post(`${proxy.url}/openai`, { messages, tools: [{ type: 'function', function: { name: 'get_weather' } }], tool_choice: 'required', n: 2 });
    assert.equal(r.status, 200, r.text);
    const u = openai.last().body;
    assert.deepEqual(u.messages, messages);
    assert.equal(u.tool_choice, 'required');
    assert.equal(u.n, 2);
  });

  test('the config max_tokens replaces max_completion_tokens (no bypass), without adding max_tokens', async () => {
    const r = await post(`${proxy.url}/openai-capped`, { messages: [USER], max_completion_tokens: 4000 });
    assert.equal(r.status, 200, r.text);
    const u = openai.last().body;
    assert.equal(u.max_completion_tokens, 50);
    assert.equal(u.max_tokens, undefined);
    assert.equal(u.temperature, 0.1);
  });

  test('the config max_tokens applies to max_tokens, and is sent when the client set no limit', async () => {
    await post(`${proxy.url}/openai-capped`, { messages: [USER], max_tokens: 4000 });
    assert.equal(openai.last().body.max_tokens, 50);
    await post(`${proxy.url}/openai-capped`, { messages: [USER] });
    assert.equal(openai.last().body.max_tokens, 50);
    assert.equal(openai.last().body.max_completion_tokens, undefined);
    await post(`${proxy.url}/openai-completions-capped`, { prompt: 'Hi', max_tokens: 4000, echo: true, best_of: 2, suffix: 'x' });
    const u = openai.last().body;
    assert.deepEqual([u.max_tokens, u.echo, u.best_of, u.suffix], [50, true, 2, 'x']);
  });
});
