/**
 * Every cell of the request contract table (lib/contract/request-fields.ts), end to end: for each
 * field of OpenAI's chat and completions requests and each upstream (Ollama, TGI, llama.cpp,
 * OpenAI-compatible), a real request through the proxy shows that the upstream received the mapped
 * value, the value as is, nothing (ignored), or that the client got the 400 naming the field.
 * A mapped cell without a check here fails the run, so the table cannot grow untested.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy } from '../../lib';
import { CONTRACT_TARGETS, REQUEST_FIELDS, type ContractTarget, type RouteKind } from '../../lib/contract/request-fields';
import { type HttpResult, post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, type Json, type RecordedRequest, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;

const PATHS: Record<ContractTarget, Record<RouteKind, string>> = {
  ollama: { chat: '/api/chat', completions: '/api/generate' },
  tgi: { chat: '/generate', completions: '/generate' },
  llamacpp: { chat: '/completion', completions: '/completion' },
  openai: { chat: '/v1/chat/completions', completions: '/v1/completions' },
};

function upstreamOf(target: ContractTarget): FakeUpstream {
  return { ollama, tgi, llamacpp: llama, openai }[target];
}

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama(), startTgi(), startLlamaCpp(), startOpenAi()]);
  proxy = await startApp((app) => {
    for (const target of CONTRACT_TARGETS) {
      const format = target === 'tgi' || target === 'llamacpp' ? 'raw' : target;
      for (const kind of ['chat', 'completions'] as const) {
        app.use(`/${target}/${kind}`, aiProxy(llama2Config(kind, format, upstreamOf(target).url + PATHS[target][kind])));
      }
    }
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

const TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

type Check = (u: Json, r: HttpResult, rec: RecordedRequest) => void;

/** A completions answer carries the legacy logprobs: parallel tokens, token_logprobs and top_logprobs (`top` each). */
function assertLegacyLogprobs(r: HttpResult, top: number): void {
  const choice = r.json.choices[0];
  const lp = choice.logprobs;
  assert.ok(Array.isArray(lp.tokens) && lp.tokens.length > 0);
  assert.equal(lp.tokens.join('').trim(), choice.text);
  assert.equal(lp.token_logprobs.length, lp.tokens.length);
  assert.ok(lp.token_logprobs.every((n: unknown) => typeof n === 'number'));
  for (const t of lp.top_logprobs) assert.equal(Object.keys(t).length, top);
}

/** The answer carries OpenAI's logprobs: one entry per generated token, with `top` alternatives each. */
function assertLogprobs(r: HttpResult, top: number): void {
  const choice = r.json.choices[0];
  const content = choice.logprobs.content;
  assert.ok(Array.isArray(content) && content.length > 0);
  assert.equal(
    content
      .map((e: Json) => e.token)
      .join('')
      .trim(),
    choice.message.content,
  );
  for (const e of content) {
    assert.equal(typeof e.logprob, 'number');
    assert.deepEqual(e.bytes, [...Buffer.from(e.token)]);
    assert.equal(e.top_logprobs.length, top);
  }
}

/** One field's sample: the value sent, what else the request needs for a mapped value, and the checks of mapped cells. */
interface Sample {
  value: unknown;
  /** A value a `mapped` cell refuses (its `refuse` rule), checked to give the 400. */
  refusedValue?: unknown;
  /** Other fields a mapped or passed request needs (e.g. `logprobs: true` for `top_logprobs`). */
  with?: Record<string, unknown>;
  mapped?: Partial<Record<ContractTarget, Check>>;
  /** The checks on the completions route, when they differ. */
  completions?: Partial<Record<ContractTarget, Check>>;
}

const opt =
  (key: string, value: unknown): Check =>
  (u) =>
    assert.deepEqual(u.options?.[key], value);
const param =
  (key: string, value: unknown): Check =>
  (u) =>
    assert.deepEqual(u.parameters?.[key], value);
const top =
  (key: string, value: unknown): Check =>
  (u) =>
    assert.deepEqual(u[key], value);
/** The same option on every native upstream, under each one's name. */
const tuning = (value: unknown, ollamaKey: string, tgiKey: string, llamaKey: string): Sample['mapped'] => ({
  ollama: opt(ollamaKey, value),
  tgi: param(tgiKey, value),
  llamacpp: top(llamaKey, value),
});

const SAMPLES: Record<string, Sample> = {
  messages: {
    value: [{ role: 'user', content: 'Hi there' }],
    mapped: {
      ollama: (u) => assert.deepEqual(u.messages, [{ role: 'user', content: 'Hi there' }]),
      tgi: (u) => assert.equal(u.inputs, '[INST] Hi there [/INST]'),
      llamacpp: (u) => assert.equal(u.prompt, '[INST] Hi there [/INST]'),
    },
  },
  prompt: {
    value: 'Hi there',
    mapped: {
      ollama: (u) => assert.equal(u.prompt, 'Hi there'),
      tgi: (u) => assert.equal(u.inputs, '[INST] Hi there [/INST]'),
      llamacpp: (u) => assert.equal(u.prompt, '[INST] Hi there [/INST]'),
    },
  },
  model: {
    value: 'llama2',
    mapped: {
      ollama: top('model', 'llama2'),
      tgi: (u, r) => {
        assert.equal(u.model, undefined);
        assert.equal(r.headers.get('x-llm-model'), 'llama2/llama2');
      },
      llamacpp: (u, r) => {
        assert.equal(u.model, undefined);
        assert.equal(r.headers.get('x-llm-model'), 'llama2/llama2');
      },
      openai: top('model', 'llama2'),
    },
  },
  stream: {
    value: true,
    mapped: {
      ollama: top('stream', true),
      tgi: (_u, _r, rec) => assert.equal(rec.path, '/generate_stream'),
      llamacpp: top('stream', true),
    },
  },
  stream_options: {
    value: { include_usage: true },
    with: { stream: true },
    mapped: Object.fromEntries(
      (['ollama', 'tgi', 'llamacpp'] as const).map((t) => [
        t,
        ((u: Json, r: HttpResult) => {
          assert.equal(u.stream_options, undefined);
          const usage = sseData(r.text).filter((c) => typeof c === 'object' && Array.isArray(c.choices) && c.choices.length === 0);
          assert.equal(usage.length, 1, 'one usage chunk');
          assert.ok(usage[0].usage.completion_tokens > 0);
        }) as Check,
      ]),
    ),
  },
  max_tokens: { value: 7, mapped: tuning(7, 'num_predict', 'max_new_tokens', 'n_predict') },
  max_completion_tokens: {
    value: 9,
    mapped: {
      ...tuning(9, 'num_predict', 'max_new_tokens', 'n_predict'),
      openai: (u) => {
        assert.equal(u.max_completion_tokens, 9);
        assert.equal(u.max_tokens, undefined, 'no second limit under the other name');
      },
    },
  },
  temperature: { value: 0.5, mapped: tuning(0.5, 'temperature', 'temperature', 'temperature') },
  top_p: { value: 0.5, mapped: tuning(0.5, 'top_p', 'top_p', 'top_p') },
  top_k: { value: 5, mapped: tuning(5, 'top_k', 'top_k', 'top_k') },
  stop: { value: 'END', mapped: tuning(['END'], 'stop', 'stop', 'stop') },
  n: { value: 2 },
  seed: { value: 42, mapped: tuning(42, 'seed', 'seed', 'seed') },
  presence_penalty: { value: 0.5, mapped: { ollama: opt('presence_penalty', 0.5), llamacpp: top('presence_penalty', 0.5) } },
  frequency_penalty: { value: 0.5, mapped: tuning(0.5, 'frequency_penalty', 'frequency_penalty', 'frequency_penalty') },
  logit_bias: {
    value: { '15043': 5, '2': -100 },
    mapped: {
      llamacpp: top('logit_bias', [
        [2, -100],
        [15043, 5],
      ]),
    },
  },
  user: { value: 'user-1' },
  logprobs: {
    value: true,
    completions: {
      ollama: (u, r) => {
        assert.deepEqual([u.logprobs, u.top_logprobs], [true, 2]);
        assertLegacyLogprobs(r, 2);
      },
      tgi: (u, r) => {
        assert.equal(u.parameters.top_n_tokens, 2);
        assertLegacyLogprobs(r, 2);
      },
      llamacpp: (u, r) => {
        assert.equal(u.n_probs, 2);
        assertLegacyLogprobs(r, 2);
      },
    },
    mapped: {
      ollama: (u, r) => {
        assert.equal(u.logprobs, true);
        assertLogprobs(r, 0);
      },
      tgi: (u, r) => {
        assert.equal(u.parameters.details, true);
        assertLogprobs(r, 0);
      },
      llamacpp: (u, r) => {
        assert.equal(u.n_probs, 1, 'llama.cpp reports nothing with n_probs 0');
        assertLogprobs(r, 0);
      },
    },
  },
  top_logprobs: {
    value: 2,
    with: { logprobs: true },
    mapped: {
      ollama: (u, r) => {
        assert.equal(u.top_logprobs, 2);
        assertLogprobs(r, 2);
      },
      tgi: (u, r) => {
        assert.equal(u.parameters.top_n_tokens, 2);
        assertLogprobs(r, 2);
      },
      llamacpp: (u, r) => {
        assert.equal(u.n_probs, 2);
        assertLogprobs(r, 2);
      },
    },
  },
  response_format: {
    value: { type: 'json_schema', json_schema: { name: 'city', schema: SCHEMA } },
    refusedValue: { type: 'xml' },
    mapped: {
      ollama: (u, r) => {
        assert.deepEqual(u.format, SCHEMA);
        assert.deepEqual(JSON.parse(r.json.choices[0].message.content), { city: 'Paris' });
      },
      tgi: param('grammar', { type: 'json', value: SCHEMA }),
      llamacpp: top('json_schema', SCHEMA),
    },
  },
  tools: {
    value: [TOOL],
    mapped: { ollama: top('tools', [TOOL]) },
  },
  tool_choice: {
    value: 'auto',
    with: { tools: [TOOL] },
    refusedValue: { type: 'function', function: { name: 'get_weather' } },
    mapped: { ollama: top('tools', [TOOL]) },
  },
  parallel_tool_calls: { value: false },
  functions: { value: [{ name: 'f', parameters: { type: 'object' } }] },
  function_call: { value: 'auto' },
  reasoning_effort: { value: 'low', mapped: { ollama: top('think', 'low') } },
  modalities: { value: ['text', 'audio'] },
  audio: { value: { voice: 'alloy', format: 'mp3' } },
  web_search_options: { value: {} },
  verbosity: { value: 'low' },
  prediction: { value: { type: 'content', content: 'Hi' } },
  metadata: { value: { team: 'a' } },
  store: { value: true },
  service_tier: { value: 'auto' },
  safety_identifier: { value: 'user-hash' },
  prompt_cache_key: { value: 'k1' },
  suffix: { value: ' END', mapped: { ollama: top('suffix', ' END') } },
  echo: { value: true },
  best_of: { value: 2 },
  // Ollama's settings: top-level ones next to messages, the rest in `options`.
  keep_alive: { value: '10m', mapped: { ollama: top('keep_alive', '10m') } },
  think: { value: true, mapped: { ollama: top('think', true) } },
  ...Object.fromEntries(
    (
      [
        ['num_ctx', 4096],
        ['num_keep', 5],
        ['num_batch', 64],
        ['num_gpu', 1],
        ['main_gpu', 0],
        ['num_thread', 2],
        ['use_mmap', true],
        ['repeat_last_n', 64],
        ['repeat_penalty', 1.1],
        ['min_p', 0.05],
        ['typical_p', 0.9],
        ['mirostat', 1],
        ['mirostat_tau', 5],
        ['mirostat_eta', 0.1],
      ] as const
    ).map(([k, v]) => [k, { value: v, mapped: { ollama: opt(k, v) } }]),
  ),
};

/** The body for a field: the route's required field, the sample, and what it needs. */
function bodyWith(kind: RouteKind, field: string, value: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = kind === 'chat' ? { messages: [{ role: 'user', content: 'Hi there' }] } : { prompt: 'Hi there' };
  return { ...base, ...extra, [field]: value };
}

function upstreamBody(target: ContractTarget): { u: Json; rec: RecordedRequest } {
  const rec = upstreamOf(target).last();
  return { u: rec.body, rec };
}

// The logprobs field is a boolean on chat and a count on completions.
const COMPLETIONS_VALUES: Record<string, unknown> = { logprobs: 2 };

for (const kind of ['chat', 'completions'] as const) {
  describe(`${kind}: every field × every upstream`, () => {
    for (const [field, row] of Object.entries(REQUEST_FIELDS[kind])) {
      const sample = SAMPLES[field];
      for (const target of CONTRACT_TARGETS) {
        const cell = row[target];
        const url = () => `${proxy.url}/${target}/${kind}`;
        const value = kind === 'completions' && field in COMPLETIONS_VALUES ? COMPLETIONS_VALUES[field] : sample?.value;
        test(`${field} on ${target}: ${cell.use}`, async () => {
          assert.ok(sample, `no sample value for "${field}" in this test`);
          if (cell.use === 'refused') {
            const r = await post(url(), bodyWith(kind, field, value));
            const e = assertOpenAiError(r, 400);
            assert.equal(e.code, 'unsupported_parameter');
            assert.equal((e as Json).param, field);
            assert.match(
              e.message,
              new RegExp(`llama2_format ${target === 'tgi' ? 'raw \\(TGI\\)' : target === 'llamacpp' ? 'raw \\(llama\\.cpp\\)' : target}`),
            );
            assert.equal(upstreamOf(target).requests.length, 0, 'nothing was sent upstream');
            if (cell.noop) {
              // OpenAI's default value cannot change the answer: accepted.
              const noop = [value, 0, 1, false, true, '', 'none', [], {}, ['text']].find((v) => cell.noop!.test(v));
              const ok = await post(url(), bodyWith(kind, field, noop));
              assert.equal(ok.status, 200, ok.text);
            }
            return;
          }
          const r = await post(url(), bodyWith(kind, field, value, sample.with));
          assert.equal(r.status, 200, r.text);
          const { u, rec } = upstreamBody(target);
          if (cell.use === 'ignored') {
            assert.ok(!(field in u), `"${field}" was not sent`);
          } else if (cell.use === 'passed') {
            assert.deepEqual(u[field], value);
          } else {
            const check = (kind === 'completions' ? sample.completions?.[target] : undefined) ?? sample.mapped?.[target];
            assert.ok(check, `no check for the mapped cell ${field} × ${target}`);
            check(u, r, rec);
            if (cell.refuse && sample.refusedValue !== undefined) {
              const refused = await post(url(), bodyWith(kind, field, sample.refusedValue, sample.with));
              const e = assertOpenAiError(refused, 400);
              assert.equal(e.code, 'unsupported_parameter');
              assert.equal((e as Json).param, field);
            } else {
              assert.ok(!cell.refuse, `no refused value for ${field} × ${target}, whose cell refuses some values`);
            }
          }
        });
      }
    }
  });
}

describe('fields the table does not list', () => {
  for (const target of CONTRACT_TARGETS) {
    test(`an unknown field on ${target}: ${target === 'openai' ? 'passed' : 'refused'}`, async () => {
      const r = await post(`${proxy.url}/${target}/chat`, bodyWith('chat', 'frobnicate', { level: 3 }));
      if (target === 'openai') {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(openai.last().body.frobnicate, { level: 3 });
        return;
      }
      const e = assertOpenAiError(r, 400);
      assert.equal(e.code, 'unsupported_parameter');
      assert.equal((e as Json).param, 'frobnicate');
    });
  }

  test('null is "not given": accepted, and not sent', async () => {
    const r = await post(`${proxy.url}/tgi/chat`, bodyWith('chat', 'logit_bias', null, { n: null, tools: null }));
    assert.equal(r.status, 200, r.text);
    assert.ok(!('logit_bias' in tgi.last().body.parameters));
  });
});
