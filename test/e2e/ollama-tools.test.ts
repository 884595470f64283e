/**
 * Tool calling, JSON mode, thinking, images and the Ollama settings through an `ollama` route,
 * driven by the clients people use: the official `openai` SDK, LangChain (`@langchain/openai`
 * bindTools / withStructuredOutput) and the Vercel AI SDK (`@ai-sdk/openai-compatible`), against a
 * fake Ollama that calls tools and thinks like a real one.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import { aiProxy } from '../../lib';
import { post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, type Json, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;

const WEATHER = { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } };
const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

before(async () => {
  ollama = await startOllama();
  proxy = await startApp((app) => {
    app.use('/v1/chat/completions', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`)));
    app.use(
      '/tuned/v1/chat/completions',
      aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { options: { max_tokens: 50, ollama: { num_ctx: 8192, keep_alive: '30m' } } })),
    );
  });
});
after(() => Promise.all([proxy.close(), ollama.close()]));
beforeEach(() => ollama.reset());

function sdk(prefix = ''): OpenAI {
  return new OpenAI({ baseURL: `${proxy.url}${prefix}/v1`, apiKey: 'x', maxRetries: 0, timeout: 5000 });
}

describe('openai SDK: tools', () => {
  test('a tool call answer: call_ id, arguments as a JSON string, finish_reason tool_calls', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const c = await sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] });
    const choice = c.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.match(call.id, /^call_[A-Za-z0-9_-]{24}$/);
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof call.function.arguments, 'string');
    assert.deepEqual(JSON.parse(call.function.arguments), WEATHER.arguments);
    assert.deepEqual(ollama.last().body.tools, [WEATHER_TOOL]);
  });

  test('multi-turn: the assistant tool call and the tool result reach Ollama in its shape', async () => {
    const first = await (async () => {
      ollama.set({ toolCalls: [WEATHER] });
      return sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] });
    })();
    const assistant = first.choices[0]!.message;
    const call = assistant.tool_calls![0]!;
    ollama.set({ toolCalls: undefined, text: 'It is 18 °C in Paris.' });
    const second = await sdk().chat.completions.create({
      model: 'llama2',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, assistant, { role: 'tool', tool_call_id: call.id, content: '{"temp":18}' }],
    });
    assert.equal(second.choices[0]!.message.content, 'It is 18 °C in Paris.');
    assert.equal(second.choices[0]!.finish_reason, 'stop');
    const sent = ollama.last().body.messages;
    assert.deepEqual(sent[1], { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: WEATHER.arguments } }] });
    assert.deepEqual(sent[2], { role: 'tool', content: '{"temp":18}', tool_name: 'get_weather' });
  });

  for (const onDoneLine of [false, true]) {
    test(`streamed: tool call deltas as OpenAI streams them, finish_reason tool_calls (call ${onDoneLine ? 'on' : 'before'} the done line)`, async () => {
      ollama.set({ toolCalls: [WEATHER, { name: 'get_time', arguments: { tz: 'CET' } }], toolCallsOnDoneLine: onDoneLine });
      const stream = await sdk().chat.completions.create({
        model: 'llama2',
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [WEATHER_TOOL],
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      assert.deepEqual(
        deltas.map((d) => [d.index, d.type, d.function?.name]),
        [
          [0, 'function', 'get_weather'],
          [1, 'function', 'get_time'],
        ],
      );
      assert.ok(deltas.every((d) => /^call_/.test(d.id ?? '')));
      assert.deepEqual(JSON.parse(deltas[0]!.function!.arguments!), WEATHER.arguments);
      assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
      assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'tool_calls');
    });
  }

  test('the SDK stream helper assembles the streamed tool call', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const runner = sdk().chat.completions.stream({ model: 'llama2', messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER_TOOL] });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(
      JSON.parse(final.choices[0]!.message.tool_calls![0]!.type === 'function' ? final.choices[0]!.message.tool_calls![0]!.function.arguments : ''),
      WEATHER.arguments,
    );
  });

  test('tool_choice none: the tools are not sent, the model answers in text', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const c = await sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: 'Hi' }], tools: [WEATHER_TOOL], tool_choice: 'none' });
    assert.equal(c.choices[0]!.finish_reason, 'stop');
    assert.equal(ollama.last().body.tools, undefined);
  });

  test('tool_choice required or a named function: 400 naming tool_choice', async () => {
    for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }] as const) {
      const r = await post(`${proxy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], tools: [WEATHER_TOOL], tool_choice });
      const e = assertOpenAiError(r, 400, /tool_choice.*llama2_format ollama/);
      assert.equal(e.code, 'unsupported_parameter');
      assert.equal((e as Json).param, 'tool_choice');
    }
    assert.equal(ollama.requests.length, 0);
  });

  test('history tool call arguments that are not JSON: 400 naming them, nothing sent', async () => {
    const r = await post(`${proxy.url}/v1/chat/completions`, {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": Par' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18' },
      ],
    });
    const e = assertOpenAiError(r, 400);
    assert.equal(e.code, 'invalid_value');
    assert.equal((e as Json).param, 'messages[1].tool_calls[0].function.arguments');
    assert.equal(ollama.requests.length, 0);
  });
});

describe('openai SDK: JSON mode, thinking, images, logprobs', () => {
  test('response_format json_object → format "json"; the answer parses', async () => {
    const c = await sdk().chat.completions.create({
      model: 'llama2',
      messages: [{ role: 'user', content: 'JSON please' }],
      response_format: { type: 'json_object' },
    });
    assert.equal(ollama.last().body.format, 'json');
    assert.deepEqual(JSON.parse(c.choices[0]!.message.content!), { answer: 3 });
  });

  test('thinking: reasoning_content on the message and on stream deltas; reasoning_effort → think', async () => {
    ollama.set({ thinking: 'Add one and two.' });
    const c = await sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: '1+2?' }], reasoning_effort: 'high' });
    assert.equal(ollama.last().body.think, 'high');
    assert.equal((c.choices[0]!.message as Json).reasoning_content, 'Add one and two.');
    const stream = await sdk().chat.completions.create({ model: 'llama2', messages: [{ role: 'user', content: '1+2?' }], stream: true, think: true } as Json);
    let reasoning = '';
    let content = '';
    for await (const chunk of stream as Json) {
      reasoning += chunk.choices[0]?.delta.reasoning_content ?? '';
      content += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(ollama.last().body.think, true);
    assert.equal(reasoning, 'Add one and two.');
    assert.equal(content, 'The sum of 1 + 2 is 3.');
  });

  test('images: a data: URL is sent to Ollama as base64; an http(s) URL is refused', async () => {
    const png = Buffer.from('fake png bytes').toString('base64');
    await sdk().chat.completions.create({
      model: 'llama2',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
    });
    assert.deepEqual(ollama.last().body.messages[0], { role: 'user', content: 'What is this?', images: [png] });
    const r = await post(`${proxy.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    });
    const e = assertOpenAiError(r, 400, /fetches nothing/);
    assert.equal((e as Json).param, 'messages[0].content[0].image_url.url');
  });

  test('logprobs streamed: each content delta carries its tokens', async () => {
    const r = await post(`${proxy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], stream: true, logprobs: true, top_logprobs: 1 });
    const chunks = sseData(r.text).filter((c) => typeof c === 'object' && c.choices?.[0]?.delta?.content);
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.equal(c.choices[0].logprobs.content[0].token, c.choices[0].delta.content);
  });
});

describe('Ollama settings and limits', () => {
  test('config defaults reach Ollama; the config wins over the request; other request settings pass', async () => {
    await post(`${proxy.url}/tuned/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'Hi' }],
      num_ctx: 2048,
      keep_alive: '1m',
      repeat_penalty: 1.2,
      max_completion_tokens: 4000,
    });
    const u = ollama.last().body;
    assert.equal(u.keep_alive, '30m');
    assert.equal(u.options.num_ctx, 8192);
    assert.equal(u.options.repeat_penalty, 1.2);
    assert.equal(u.options.num_predict, 50, 'the config max_tokens caps max_completion_tokens');
    // A plain request gets the route's settings too.
    await post(`${proxy.url}/tuned/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual([ollama.last().body.keep_alive, ollama.last().body.options.num_ctx], ['30m', 8192]);
  });

  test('a request setting of the wrong type: 400 naming it', async () => {
    const r = await post(`${proxy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], num_ctx: 'big' });
    const e = assertOpenAiError(r, 400);
    assert.equal((e as Json).param, 'num_ctx');
  });

  test('the config refuses an unknown Ollama setting, naming its path', () => {
    assert.throws(
      () => aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { options: { ollama: { num_ctxx: 1 } as Json } })),
      /model\.options\.ollama\.num_ctxx/,
    );
    assert.throws(
      () => aiProxy(llama2Config('chat', 'raw', `${ollama.url}/generate`, { options: { ollama: { num_ctx: 8192 } } })),
      /model\.options\.ollama is not allowed/,
    );
  });

  test('a streamed plain answer still converts through the fast path (no tool call, no thinking)', async () => {
    const r = await post(`${proxy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const frames = sseData(r.text);
    assert.equal(frames.at(-1), '[DONE]');
    assert.equal(frames.at(-2).choices[0].finish_reason, 'stop');
  });
});

describe('LangChain (@langchain/openai)', () => {
  function chat(): ChatOpenAI {
    return new ChatOpenAI({ model: 'llama2', apiKey: 'x', maxRetries: 0, configuration: { baseURL: `${proxy.url}/v1` } });
  }
  const weather = {
    name: 'get_weather',
    description: 'The current weather of a city',
    schema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']).optional() }),
  };

  test('bindTools: tool_calls with parsed args; the tool result goes back as a tool message', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const model = chat().bindTools([weather]);
    const ai = await model.invoke([new HumanMessage('Weather in Paris?')]);
    assert.equal(ai.tool_calls?.length, 1);
    assert.equal(ai.tool_calls[0]!.name, 'get_weather');
    assert.deepEqual(ai.tool_calls[0]!.args, WEATHER.arguments);
    ollama.set({ toolCalls: undefined, text: 'It is 18 °C.' });
    const answer = await model.invoke([new HumanMessage('Weather in Paris?'), ai, new ToolMessage({ tool_call_id: ai.tool_calls[0]!.id!, content: '18' })]);
    assert.equal(answer.content, 'It is 18 °C.');
    assert.equal(ollama.last().body.messages[2].tool_name, 'get_weather');
  });

  test('bindTools, streamed: the chunks concatenate to the tool call', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const stream = await chat()
      .bindTools([weather])
      .stream([new HumanMessage('Weather in Paris?')]);
    let full: Json;
    for await (const chunk of stream) full = full ? full.concat(chunk) : chunk;
    assert.equal(full.tool_calls.length, 1);
    assert.deepEqual(full.tool_calls[0].args, WEATHER.arguments);
  });

  for (const method of ['jsonSchema', 'jsonMode'] as const) {
    test(`withStructuredOutput (${method}): a parsed object`, async () => {
      const schema = z.object({ city: z.string() });
      const result = await chat()
        .withStructuredOutput(method === 'jsonMode' ? z.object({ answer: z.number() }) : schema, { method })
        .invoke('Which city?');
      if (method === 'jsonSchema') {
        assert.deepEqual(result, { city: 'Paris' });
        assert.equal(ollama.last().body.format.type, 'object');
      } else {
        assert.deepEqual(result, { answer: 3 });
        assert.equal(ollama.last().body.format, 'json');
      }
    });
  }
});

describe('Vercel AI SDK (@ai-sdk/openai-compatible)', () => {
  const provider = () => createOpenAICompatible({ name: 'proxy', baseURL: `${proxy.url}/v1`, apiKey: 'x' });
  const tools = () => ({
    get_weather: tool({
      description: 'The current weather of a city',
      inputSchema: jsonSchema<{ city: string; unit?: string }>(WEATHER_TOOL.function.parameters as Json),
    }),
  });

  test('generateText: toolCalls', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const result = await generateText({ model: provider()('llama2'), prompt: 'Weather in Paris?', tools: tools(), maxRetries: 0 });
    assert.equal(result.finishReason, 'tool-calls');
    assert.equal(result.toolCalls.length, 1);
    assert.equal(result.toolCalls[0]!.toolName, 'get_weather');
    assert.deepEqual(result.toolCalls[0]!.input, WEATHER.arguments);
  });

  test('streamText: toolCalls', async () => {
    ollama.set({ toolCalls: [WEATHER] });
    const result = streamText({ model: provider()('llama2'), prompt: 'Weather in Paris?', tools: tools(), maxRetries: 0 });
    const calls = await result.toolCalls;
    assert.equal(await result.finishReason, 'tool-calls');
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.input, WEATHER.arguments);
  });

  test('generateText: reasoning from a thinking model', async () => {
    ollama.set({ thinking: 'Add one and two.' });
    const result = await generateText({ model: provider()('llama2'), prompt: '1+2?', maxRetries: 0, providerOptions: { proxy: { think: true } } });
    assert.equal(result.text, 'The sum of 1 + 2 is 3.');
    assert.equal(result.reasoningText, 'Add one and two.');
  });
});
