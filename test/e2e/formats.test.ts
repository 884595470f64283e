/**
 * Non-streamed chat and completions through a real Express app, for every llama2_format and
 * server: the client gets OpenAI JSON with the upstream's counts, and the upstream gets exactly
 * the documented body at exactly the configured path.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, type Json, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;

const PROMPT = '[INST] What is 1 + 2? [/INST]';
/** Tuning the client sends in every case below. */
const TUNING = { max_tokens: 64, temperature: 0.5, top_p: 1 };

interface Case {
  mount: string;
  route: 'chat' | 'completions';
  upstream: () => FakeUpstream;
  path: string;
  /** Expected counts; prompt_tokens undefined: not checked here (see the TGI test below). */
  usage: { prompt_tokens: number | undefined; completion_tokens: number };
  /** Checks the body the upstream received. */
  sent(body: Json): void;
}

const cases: Case[] = [
  {
    mount: '/ollama-chat',
    route: 'chat',
    upstream: () => ollama,
    path: '/api/chat',
    usage: { prompt_tokens: 11, completion_tokens: 8 },
    sent: (b) =>
      assert.deepEqual(b, {
        model: 'llama2',
        messages: [{ role: 'user', content: 'What is 1 + 2?' }],
        stream: false,
        options: { num_predict: 64, temperature: 0.5, top_p: 1 },
      }),
  },
  {
    mount: '/ollama-completions',
    route: 'completions',
    upstream: () => ollama,
    path: '/api/generate',
    usage: { prompt_tokens: 11, completion_tokens: 8 },
    sent: (b) => {
      assert.equal(b.model, 'llama2');
      assert.equal(b.prompt, 'What is 1 + 2?');
      assert.equal(b.stream, false);
      assert.deepEqual(b.options, { num_predict: 64, temperature: 0.5, top_p: 1 });
    },
  },
  ...(['chat', 'completions'] as const).map((route): Case => ({
    mount: `/tgi-${route}`,
    route,
    upstream: () => tgi,
    path: '/generate',
    // 8 text tokens and the EOS token.
    usage: { prompt_tokens: undefined, completion_tokens: 9 },
    sent: (b) => {
      assert.equal(b.inputs, PROMPT);
      assert.equal(b.parameters.details, true);
      assert.equal(b.parameters.max_new_tokens, 64);
      assert.equal(b.parameters.temperature, 0.5);
      // TGI refuses top_p 1 with 422: it must not be sent.
      assert.equal('top_p' in b.parameters, false);
    },
  })),
  {
    mount: '/hf-chat',
    route: 'chat',
    upstream: () => tgi,
    path: '/',
    usage: { prompt_tokens: undefined, completion_tokens: 9 },
    sent: (b) => {
      assert.equal(b.inputs, PROMPT);
      assert.notEqual(b.stream, true);
    },
  },
  ...(['chat', 'completions'] as const).map((route): Case => ({
    mount: `/llamacpp-${route}`,
    route,
    upstream: () => llama,
    path: '/completion',
    usage: { prompt_tokens: 11, completion_tokens: 8 },
    sent: (b) => {
      assert.equal(b.prompt, PROMPT);
      assert.equal(b.n_predict, 64);
      assert.equal(b.temperature, 0.5);
      assert.equal('inputs' in b, false);
      assert.notEqual(b.stream, true);
    },
  })),
  {
    mount: '/openai-chat',
    route: 'chat',
    upstream: () => openai,
    path: '/v1/chat/completions',
    usage: { prompt_tokens: 11, completion_tokens: 8 },
    sent: (b) => {
      assert.equal(b.model, 'llama2');
      assert.deepEqual(b.messages, [{ role: 'user', content: 'What is 1 + 2?' }]);
      assert.equal(b.stream, false);
      assert.equal(b.max_tokens, 64);
    },
  },
  {
    mount: '/openai-completions',
    route: 'completions',
    upstream: () => openai,
    path: '/v1/completions',
    usage: { prompt_tokens: 11, completion_tokens: 8 },
    sent: (b) => {
      assert.equal(b.model, 'llama2');
      assert.equal(b.prompt, 'What is 1 + 2?');
      assert.equal(b.stream, false);
    },
  },
];

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama(), startTgi(), startLlamaCpp(), startOpenAi()]);
  proxy = await startApp((app) => {
    for (const c of cases) {
      const u = c.upstream();
      const format = u === ollama ? 'ollama' : u === openai ? 'openai' : 'raw';
      app.use(c.mount, aiProxy(llama2Config(c.route, format, u.url + c.path)));
    }
    app.use('/deep/mount/point', aiProxy(llama2Config('chat', 'raw', `${tgi.url}/generate?api-version=2024-01&x=1`)));
    app.use('/no-header', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { model_name_header: false })));
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

describe('non-streamed answers are OpenAI JSON', () => {
  for (const c of cases) {
    test(`${c.mount}: ${c.route} → ${c.path}`, async () => {
      const body = c.route === 'chat' ? chatBody(TUNING) : completionsBody(TUNING);
      const r = await post(`${proxy.url}${c.mount}`, body);
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(r.headers.get('x-llm-model'), 'llama2/llama2');

      const j = r.json;
      assert.equal(typeof j.id, 'string');
      assert.equal(Number.isInteger(j.created), true);
      assert.equal(typeof j.model, 'string');
      assert.equal(j.choices.length, 1);
      assert.equal(j.choices[0].index, 0);
      assert.equal(j.choices[0].finish_reason, 'stop');
      if (c.route === 'chat') {
        assert.equal(j.object, 'chat.completion');
        assert.match(j.id, /^chatcmpl-/);
        assert.deepEqual({ role: j.choices[0].message.role, content: j.choices[0].message.content }, { role: 'assistant', content: DEFAULT_TEXT });
      } else {
        assert.equal(j.object, 'text_completion');
        assert.match(j.id, /^cmpl-/);
        assert.equal(j.choices[0].text, DEFAULT_TEXT);
      }
      assert.equal(j.usage.completion_tokens, c.usage.completion_tokens);
      if (c.usage.prompt_tokens !== undefined) assert.equal(j.usage.prompt_tokens, c.usage.prompt_tokens);
      assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);

      const u = c.upstream();
      assert.equal(u.requests.length, 1);
      const rec = u.last();
      assert.equal(rec.method, 'POST');
      assert.equal(rec.url, c.path);
      assert.match(String(rec.headers['content-type']), /^application\/json/);
      c.sent(rec.body);
    });
  }
});

test('the upstream gets exactly upstream_url (path and query), whatever the mount and request path', async () => {
  const r = await post(`${proxy.url}/deep/mount/point/v1/chat/completions?client=1`, chatBody());
  assert.equal(r.status, 200, r.text);
  assert.equal(tgi.last().url, '/generate?api-version=2024-01&x=1');
});

test("TGI's prompt token count comes from its x-prompt-tokens header (the non-streamed body has none)", async () => {
  const r = await post(`${proxy.url}/tgi-chat`, chatBody());
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.usage, { prompt_tokens: 11, completion_tokens: 9, total_tokens: 20 });
});

test('finish reason length is reported as length', async () => {
  for (const u of [ollama, tgi, llama, openai]) u.set({ finishReason: 'length' });
  for (const mount of ['/ollama-chat', '/tgi-chat', '/llamacpp-chat', '/openai-chat']) {
    const r = await post(`${proxy.url}${mount}`, chatBody());
    assert.equal(r.json.choices[0].finish_reason, 'length', mount);
  }
});

test('Ollama without zero counts: usage counts are 0, not missing', async () => {
  ollama.set({ promptTokens: 0 });
  const r = await post(`${proxy.url}/ollama-chat`, chatBody());
  assert.deepEqual({ p: r.json.usage.prompt_tokens, c: r.json.usage.completion_tokens, t: r.json.usage.total_tokens }, { p: 0, c: 8, t: 8 });
});

test('a multi-turn chat reaches a raw upstream as one Llama 2 prompt', async () => {
  const messages = [
    { role: 'system', content: 'You are a mathematician.' },
    { role: 'user', content: 'What is 1 + 2?' },
    { role: 'assistant', content: 'The sum of 1 + 2 is 3.' },
    { role: 'user', content: 'Multiply that by 2' },
  ];
  const r = await post(`${proxy.url}/llamacpp-chat`, { messages });
  assert.equal(r.status, 200, r.text);
  assert.equal(
    llama.last().body.prompt,
    '[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 2? [/INST] The sum of 1 + 2 is 3. </s><s>[INST] Multiply that by 2 [/INST]',
  );
});

test('model_name_header false: no X-LLM-Model header', async () => {
  const r = await post(`${proxy.url}/no-header`, chatBody());
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-llm-model'), null);
});
