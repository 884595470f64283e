/**
 * An answer the upstream itself marks unfinished is never presented as finished: a non-streamed one
 * is a 502 `incomplete_upstream_answer`; a stream that ends without its final marker ends with an
 * error frame of the same code, never `[DONE]`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { type ScriptedUpstream, startScripted } from '../support/scripted-upstream';

let up: ScriptedUpstream;
let proxy: ProxyApp;

before(async () => {
  up = await startScripted();
  proxy = await startApp((app) => {
    app.use('/ollama', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`)));
    app.use('/llamacpp', aiProxy(llama2Config('completions', 'raw', `${up.url}/completion`)));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${up.url}/v1/chat/completions`)));
    app.use('/openai-completions', aiProxy(llama2Config('completions', 'openai', `${up.url}/v1/completions`)));
    app.use('/tgi', aiProxy(llama2Config('chat', 'raw', `${up.url}/generate`)));
  });
});
after(() => Promise.all([proxy.close(), up.close()]));

const unfinished: [string, string, () => Record<string, unknown>, unknown][] = [
  [
    'Ollama done: false',
    '/ollama',
    chatBody,
    { model: 'llama2', created_at: '2023-08-04T08:52:19Z', message: { role: 'assistant', content: 'The sum of' }, done: false },
  ],
  ['llama.cpp stop: false', '/llamacpp', completionsBody, { content: 'The sum of', stop: false, tokens_predicted: 3, tokens_evaluated: 5 }],
  [
    'OpenAI chat finish_reason: null',
    '/openai',
    chatBody,
    {
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'llama2',
      choices: [{ index: 0, message: { role: 'assistant', content: 'The sum of' }, finish_reason: null }],
    },
  ],
  [
    'OpenAI completions finish_reason: null',
    '/openai-completions',
    completionsBody,
    { id: 'c', object: 'text_completion', created: 1, model: 'llama2', choices: [{ index: 0, text: 'The sum of', finish_reason: null }] },
  ],
];

describe('a non-streamed answer marked unfinished → 502 incomplete_upstream_answer', () => {
  for (const [label, mount, body, answer] of unfinished) {
    test(label, async () => {
      up.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
      const r = await post(`${proxy.url}${mount}`, body());
      const e = assertOpenAiError(r, 502, /unfinished/);
      assert.equal(e.code, 'incomplete_upstream_answer');
      assert.ok(!r.text.includes('The sum of'));
    });
  }

  test('a finished answer with a length limit stays finish_reason "length"', async () => {
    up.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ content: 'The sum of', stop: true, stop_type: 'limit' })),
    );
    const r = await post(`${proxy.url}/llamacpp`, completionsBody());
    assert.equal(r.status, 200);
    assert.equal(r.json.choices[0].finish_reason, 'length');
  });
});

describe('a stream without its final marker ends with the same code', () => {
  const cut: [string, string, string, string][] = [
    [
      'Ollama (no done: true line)',
      '/ollama',
      'application/x-ndjson',
      `${JSON.stringify({ model: 'llama2', created_at: 'x', message: { role: 'assistant', content: 'The sum' }, done: false })}\n`,
    ],
    ['llama.cpp (no stop: true event)', '/llamacpp', 'text/event-stream', `data: ${JSON.stringify({ content: 'The sum', stop: false })}\n\n`],
    [
      'TGI (no generated_text event)',
      '/tgi',
      'text/event-stream',
      `data:${JSON.stringify({ index: 1, token: { id: 1, text: 'The sum', logprob: 0, special: false }, generated_text: null, details: null })}\n\n`,
    ],
    [
      'OpenAI (a finish_reason but no [DONE])',
      '/openai',
      'text/event-stream',
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'The sum' }, finish_reason: null }] })}\n\n`,
    ],
  ];
  for (const [label, mount, type, text] of cut) {
    test(label, async () => {
      up.handle((_req, res) => res.writeHead(200, { 'content-type': type }).end(text));
      const r = await post(`${proxy.url}${mount}`, (mount === '/llamacpp' ? completionsBody : chatBody)({ stream: true }));
      const events = sseData(r.text);
      assert.ok(!events.includes('[DONE]'));
      assert.equal(events.at(-1).error.code, 'incomplete_upstream_answer');
    });
  }
});
