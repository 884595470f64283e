/**
 * Routes with several targets, through real sockets: loopback upstreams that refuse, reset, answer
 * 5xx or 429, stall, die mid-stream or answer slowly. Failover happens before a stream's first
 * content and never after; breakers, queues and health checks behave as documented; the target
 * that answered is named in `X-AI-Proxy-Target` and the statistics.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiProxy, type BalancedAiProxyConfig, type BalancerConfig, type ProxyStatistics, type TargetConfig } from '../../lib';
import { openStream, parseSse, post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, startOllama, startOpenAi, startTgi } from '../support/upstreams';

let a: FakeUpstream;
let b: FakeUpstream;
let c: FakeUpstream;
let oa: FakeUpstream;
let ob: FakeUpstream;
let deadUrl: string;

before(async () => {
  [a, b, c, oa, ob] = await Promise.all([startOllama(), startOllama(), startOllama(), startOpenAi(), startOpenAi()]);
  const dead = await startOllama();
  deadUrl = `${dead.url}/api/chat`;
  await dead.close();
});
after(() => Promise.all([a, b, c, oa, ob].map((s) => s.close())));
beforeEach(() => [a, b, c, oa, ob].forEach((s) => s.reset()));

function ollamaTarget(name: string, up: FakeUpstream | string, extra: Partial<TargetConfig> = {}): TargetConfig {
  const url = typeof up === 'string' ? up : `${up.url}/api/chat`;
  return { name, model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: url } }, ...extra };
}

function openaiTarget(name: string, up: FakeUpstream, extra: Partial<TargetConfig> = {}): TargetConfig {
  return { name, model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'openai', upstream_url: `${up.url}/v1/chat/completions` } }, ...extra };
}

let proxy: ProxyApp | undefined;
let closeRoute: (() => void) | undefined;
const stats: ProxyStatistics[] = [];
afterEach(async () => {
  closeRoute?.();
  await proxy?.close();
  proxy = undefined;
  stats.length = 0;
});

/** Mounts one balanced route at /chat and returns its URL. */
async function mount(targets: TargetConfig[], balancer: BalancerConfig = {}, extra: Partial<BalancedAiProxyConfig> = {}): Promise<string> {
  const mw = aiProxy({ route_type: 'llm/v1/chat', targets, balancer, logging: { log_statistics: true, on_statistics: (s) => stats.push(s) }, ...extra });
  closeRoute = mw.close;
  proxy = await startApp((app) => app.use('/chat', mw));
  return `${proxy.url}/chat`;
}

function tally(results: Array<{ headers: Headers }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const name = r.headers.get('x-ai-proxy-target') ?? '(none)';
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

describe('spreading load', () => {
  test('round-robin over three targets: exactly 10 each of 30, named in X-AI-Proxy-Target', async () => {
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b), ollamaTarget('c', c)]);
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await post(url, chatBody()));
    for (const r of results) assert.equal(r.status, 200);
    assert.deepEqual(tally(results), { a: 10, b: 10, c: 10 });
    assert.deepEqual([a.requests.length, b.requests.length, c.requests.length], [10, 10, 10]);
    assert.equal(results[0]!.json.choices[0].message.content, DEFAULT_TEXT);
  });

  test('weights 3:1 give 30 and 10 of 40', async () => {
    const url = await mount([ollamaTarget('big', a, { weight: 3 }), ollamaTarget('small', b, { weight: 1 })]);
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await post(url, chatBody()));
    assert.deepEqual(tally(results), { big: 30, small: 10 });
  });

  test('least-connections: requests started 15 ms apart mostly go to the fast target while the slow one holds its requests', async () => {
    a.set({ responseDelayMs: 300 });
    const url = await mount([ollamaTarget('slow', a), ollamaTarget('fast', b)], { algorithm: 'least-connections' });
    const pending = [];
    for (let i = 0; i < 20; i++) {
      pending.push(post(url, chatBody()));
      await sleep(15);
    }
    const t = tally(await Promise.all(pending));
    assert.ok((t.fast ?? 0) >= 14, JSON.stringify(t));
  });

  test('lowest-latency: a target answering 100 ms slower gets at most 25% of 40 sequential requests', async () => {
    a.set({ responseDelayMs: 100 });
    const url = await mount([ollamaTarget('slow', a), ollamaTarget('fast', b)], { algorithm: 'lowest-latency', latency_exploration: 0.1 });
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await post(url, chatBody()));
    const t = tally(results);
    assert.ok((t.slow ?? 0) <= 10 && (t.slow ?? 0) >= 1, JSON.stringify(t));
  });

  test('consistent-hashing on the first messages: every turn of a conversation goes to the same target', async () => {
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b), ollamaTarget('c', c)], { algorithm: 'consistent-hashing' });
    const seen = new Map<string, Set<string>>();
    for (let conv = 0; conv < 6; conv++) {
      const history = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: `Conversation ${conv}` },
      ];
      for (let turn = 0; turn < 4; turn++) {
        const r = await post(url, { messages: history });
        assert.equal(r.status, 200);
        const set = seen.get(String(conv)) ?? new Set();
        set.add(r.headers.get('x-ai-proxy-target')!);
        seen.set(String(conv), set);
        history.push({ role: 'assistant', content: r.json.choices[0].message.content }, { role: 'user', content: `turn ${turn}` });
      }
    }
    for (const [conv, targets] of seen) assert.equal(targets.size, 1, `conversation ${conv} went to ${[...targets].join(', ')}`);
  });

  test('consistent-hashing on a header', async () => {
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b), ollamaTarget('c', c)], {
      algorithm: 'consistent-hashing',
      hash_on: 'header',
      hash_on_header: 'x-session',
    });
    for (const session of ['s1', 's2', 's3', 's4']) {
      const names = new Set<string>();
      for (let i = 0; i < 4; i++) names.add((await post(url, chatBody(), { headers: { 'x-session': session } })).headers.get('x-ai-proxy-target')!);
      assert.equal(names.size, 1);
    }
  });

  test('priority: the backup group serves only when the whole first group is down', async () => {
    const url = await mount([ollamaTarget('main-1', a), ollamaTarget('main-2', b), ollamaTarget('backup', c, { priority: 1 })], {
      algorithm: 'priority',
      retries: 2,
    });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(url, chatBody()));
    assert.deepEqual(tally(results), { 'main-1': 3, 'main-2': 3 });
    a.set({ fault: { kind: 'status', status: 503, body: { error: 'busy' } } });
    assert.equal((await post(url, chatBody())).headers.get('x-ai-proxy-target'), 'main-2');
    b.set({ fault: { kind: 'status', status: 503, body: { error: 'busy' } } });
    const r = await post(url, chatBody());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ai-proxy-target'), 'backup');
  });
});

describe('failover of non-streamed requests', () => {
  const cases: Array<[string, (u: FakeUpstream) => void, string | undefined]> = [
    ['refused', () => undefined, 'dead'],
    ['reset', (u) => u.set({ fault: { kind: 'reset' } }), undefined],
    ['500', (u) => u.set({ fault: { kind: 'status', status: 500, body: { error: 'boom' } } }), undefined],
    ['503 busy', (u) => u.set({ fault: { kind: 'status', status: 503, body: { error: 'server busy' } } }), undefined],
    ['dies mid-answer', (u) => u.set({ fault: { kind: 'die' } }), undefined],
    ['stalls before its first byte', (u) => u.set({ fault: { kind: 'hang' } }), undefined],
  ];
  for (const [what, breakIt, dead] of cases) {
    test(`first target ${what}: the second answers, and the statistics say so`, async () => {
      breakIt(a);
      const url = await mount([ollamaTarget('first', dead ? deadUrl : a), ollamaTarget('second', b)], { upstream_first_byte_timeout: 200 });
      const r = await post(url, chatBody());
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-ai-proxy-target'), 'second');
      assert.equal(r.json.choices[0].message.content, DEFAULT_TEXT);
      assert.equal(stats.length, 1);
      assert.equal(stats[0]!.target, 'second');
      assert.deepEqual(stats[0]!.tried_targets, ['first', 'second']);
      assert.equal(stats[0]!.retries, 1);
      assert.equal(typeof stats[0]!.queued_ms, 'number');
    });
  }

  test('429 with Retry-After: fails over, and the target gets nothing until then', async () => {
    a.set({ fault: { kind: 'status', status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '30' } } });
    const url = await mount([ollamaTarget('first', a), ollamaTarget('second', b)]);
    for (let i = 0; i < 4; i++) assert.equal((await post(url, chatBody())).headers.get('x-ai-proxy-target'), 'second');
    assert.equal(a.requests.length, 1);
  });

  test('a client error (400) is passed on, not failed over', async () => {
    a.set({ fault: { kind: 'status', status: 400, body: { error: 'bad options' } } });
    const url = await mount([ollamaTarget('first', a), ollamaTarget('second', b)]);
    assertOpenAiError(await post(url, chatBody()), 400, 'bad options');
    assert.equal(b.requests.length, 0);
  });

  test('every target failing: the last upstream error is passed on after the retries', async () => {
    for (const u of [a, b, c]) u.set({ fault: { kind: 'status', status: 502, body: { error: 'bad gateway here' } } });
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b), ollamaTarget('c', c)], { retries: 1, circuit_breaker: { enabled: false } });
    assertOpenAiError(await post(url, chatBody()), 502, 'bad gateway here');
    assert.equal(a.requests.length + b.requests.length + c.requests.length, 2, 'retries: 1 means two attempts');
  });

  test('the failover criteria decide: without http_500 a 500 is passed on', async () => {
    a.set({ fault: { kind: 'status', status: 500, body: { error: 'boom' } } });
    const url = await mount([ollamaTarget('first', a), ollamaTarget('second', b)], { failover_criteria: ['error', 'timeout'] });
    assertOpenAiError(await post(url, chatBody()), 500, 'boom');
  });

  test('upstream_total_timeout bounds all attempts together: 504', async () => {
    a.set({ fault: { kind: 'hang' } });
    b.set({ fault: { kind: 'hang' } });
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], { upstream_first_byte_timeout: 150, upstream_total_timeout: 250 });
    const started = Date.now();
    const e = assertOpenAiError(await post(url, chatBody()), 504);
    assert.equal(e.code, 'upstream_timeout');
    assert.ok(Date.now() - started < 2000);
  });
});

describe('streams fail over before their first content, never after', () => {
  test('role-only preamble then the connection dies: held back, the second target streams the answer', async () => {
    oa.set({ fault: { kind: 'die', afterChunks: 0 } });
    const url = await mount([openaiTarget('first', oa), openaiTarget('second', ob)]);
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ai-proxy-target'), 'second');
    const events = parseSse(r.text);
    assert.equal(events.at(-1)!.data, '[DONE]');
    const chunks = sseData(r.text).filter((x) => x !== '[DONE]');
    assert.equal(chunks.filter((x) => x.choices?.[0]?.delta?.role === 'assistant').length, 1, "one role chunk: the first target's was never sent");
    assert.equal(chunks.map((x) => x.choices?.[0]?.delta?.content ?? '').join(''), DEFAULT_TEXT);
    assert.equal(oa.requests.length, 1);
    assert.deepEqual(stats[0]!.tried_targets, ['first', 'second']);
  });

  test("TGI's keep-alive comment, then the connection dies: held back, an Ollama target answers instead", async () => {
    const tgi = await startTgi();
    try {
      tgi.set({ fault: { kind: 'die', afterChunks: 0 } });
      const url = await mount([
        { name: 'tgi', model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'raw', upstream_url: `${tgi.url}/generate` } } },
        ollamaTarget('ollama', a),
      ]);
      const r = await post(url, chatBody({ stream: true }));
      assert.equal(r.headers.get('x-ai-proxy-target'), 'ollama');
      assert.equal(tgi.requests.length, 1);
      assert.equal(parseSse(r.text).at(-1)!.data, '[DONE]');
      assert.ok(!r.text.startsWith(':'));
    } finally {
      await tgi.close();
    }
  });

  test('a stream going silent after its preamble fails over on the idle limit (upstream_timeout)', async () => {
    oa.set({ fault: { kind: 'hang', afterChunks: 0 } });
    const url = await mount([openaiTarget('first', oa), openaiTarget('second', ob)], { upstream_timeout: 150 });
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.headers.get('x-ai-proxy-target'), 'second');
    assert.equal(parseSse(r.text).at(-1)!.data, '[DONE]');
  });

  test('an error inside a 200 stream before any content fails over too', async () => {
    a.set({ fault: { kind: 'stream-error', afterChunks: 0, message: 'model failed to load' } });
    const url = await mount([ollamaTarget('first', a), ollamaTarget('second', b)]);
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.headers.get('x-ai-proxy-target'), 'second');
    assert.equal(
      sseData(r.text)
        .map((x) => x.choices?.[0]?.delta?.content ?? '')
        .join(''),
      DEFAULT_TEXT,
    );
  });

  test('an Ollama stream stalling before its first token fails over on the first-byte limit', async () => {
    a.set({ fault: { kind: 'hang' } });
    const url = await mount([ollamaTarget('first', a), ollamaTarget('second', b)], { upstream_first_byte_timeout: 150 });
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.headers.get('x-ai-proxy-target'), 'second');
    assert.equal(parseSse(r.text).at(-1)!.data, '[DONE]');
  });

  test('dying after the first content: an error event, no [DONE], no second target', async () => {
    oa.set({ fault: { kind: 'die', afterChunks: 2 } });
    const url = await mount([openaiTarget('first', oa), openaiTarget('second', ob)]);
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ai-proxy-target'), 'first');
    const data = sseData(r.text);
    assert.ok(!data.includes('[DONE]'));
    assert.ok(data.at(-1).error, 'ends with an error event');
    assert.ok(data.some((x) => typeof x.choices?.[0]?.delta?.content === 'string' && x.choices[0].delta.content.length > 0));
    assert.equal(ob.requests.length, 0);
  });

  test('SSE keep-alive comments while waiting for the first token; the answer follows', async () => {
    a.set({ responseDelayMs: 250 });
    const url = await mount([ollamaTarget('only', a)], { sse_keepalive_interval: 50 });
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.match(r.text, /^: keep-alive\n\n/);
    assert.equal(parseSse(r.text).at(-1)!.data, '[DONE]');
  });

  test('keep-alive began the answer, then every target fails: an SSE error event', async () => {
    a.set({ responseDelayMs: 150, fault: { kind: 'status', status: 500, body: { error: 'exploded' } } });
    const url = await mount([ollamaTarget('only', a)], { sse_keepalive_interval: 50 });
    const r = await post(url, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    const data = sseData(r.text);
    assert.equal(data.at(-1).error.message, 'exploded');
    assert.ok(!data.includes('[DONE]'));
  });
});

describe('circuit breaker', () => {
  test('opens after consecutive failures (fast 503s count), probes after the cooldown, closes on success', async () => {
    a.set({ fault: { kind: 'status', status: 503, body: { error: 'server busy' } } });
    const url = await mount([ollamaTarget('flaky', a), ollamaTarget('steady', b)], {
      algorithm: 'least-connections',
      circuit_breaker: { consecutive_failures: 2, cooldown: 200 },
    });
    for (let i = 0; i < 8; i++) assert.equal((await post(url, chatBody())).status, 200);
    assert.equal(a.requests.length, 2, 'open after two failures: no more traffic');
    a.reset();
    await sleep(220);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(url, chatBody()));
    assert.ok(a.requests.length >= 2, 'the probe succeeded and the target is back');
  });

  test('every breaker open: 503 with Retry-After', async () => {
    a.set({ fault: { kind: 'reset' } });
    b.set({ fault: { kind: 'reset' } });
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], { circuit_breaker: { consecutive_failures: 1, cooldown: 5000 } });
    assertOpenAiError(await post(url, chatBody()), 502);
    const r = await post(url, chatBody());
    const e = assertOpenAiError(r, 503);
    assert.equal(e.code, 'no_target_available');
    assert.equal(r.headers.get('retry-after'), '5');
  });
});

describe('per-target concurrency limit and queue', () => {
  test('beyond the limit requests wait in FIFO order, the queue is bounded, a queued client leaving is removed', async () => {
    a.set({ chunkDelayMs: 150 });
    const url = await mount([ollamaTarget('one', a, { max_concurrency: 1 })], { queue: { max_length: 1, max_wait: 5000 } });
    const first = await openStream(url, chatBody({ stream: true }));
    await first.readUntil((s) => s.includes('content'));
    // The second waits; a third is refused at once (queue of one).
    const ac = new AbortController();
    const second = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody()), signal: ac.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    await sleep(100);
    const third = await post(url, chatBody());
    const e = assertOpenAiError(third, 503);
    assert.equal(e.code, 'targets_busy');
    assert.ok(third.headers.get('retry-after'));
    // The second's client leaves while queued: its place is free for a fourth.
    ac.abort();
    assert.equal(await second, 'aborted');
    await sleep(100);
    const fourth = post(url, chatBody());
    await first.readAll();
    const r = await fourth;
    assert.equal(r.status, 200, r.text);
    assert.ok(stats.some((s) => (s.queued_ms ?? 0) > 0));
    assert.equal(a.requests.length, 2, 'the client that left never reached the upstream');
  });

  test('a full target sends the request to a free one instead', async () => {
    a.set({ chunkDelayMs: 50 });
    const url = await mount([ollamaTarget('a', a, { max_concurrency: 1 }), ollamaTarget('b', b, { max_concurrency: 1 })]);
    const s1 = await openStream(url, chatBody({ stream: true }));
    assert.equal(s1.headers.get('x-ai-proxy-target'), 'a');
    const r = await post(url, chatBody());
    assert.equal(r.headers.get('x-ai-proxy-target'), 'b');
    await s1.readAll();
  });
});

describe('health checks', () => {
  test('a target failing its checks gets no traffic; close() stops the checks', async () => {
    a.set({ fault: { kind: 'status', status: 500, body: { error: 'down' } } });
    const url = await mount([ollamaTarget('sick', a), ollamaTarget('well', b)], {
      circuit_breaker: { enabled: false },
      failover_criteria: [],
      health_checks: { enabled: true, interval: 30, timeout: 1000, unhealthy_threshold: 2 },
    });
    // Checks never overlap: a third check has begun only once two have failed.
    for (const until = Date.now() + 3000; a.requests.length < 3 && Date.now() < until;) await sleep(10);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(url, chatBody()));
    assert.deepEqual(tally(results), { well: 6 }, results.map((r) => r.text.slice(0, 200)).join('\n'));
    assert.ok(a.requests.every((r) => r.method === 'GET' && r.path === '/api/tags'));
    closeRoute!();
    // A check already on the wire when close() aborted it may still be counted by the server.
    await sleep(30);
    const checks = a.requests.length;
    await sleep(100);
    assert.equal(a.requests.length, checks, 'no check after close()');
  });
});

describe('config', () => {
  test('every problem is named by path, with the single-upstream rules inside each target', () => {
    assert.throws(
      () =>
        aiProxy({
          route_type: 'llm/v1/chat',
          targets: [
            { name: 'a b', model: { provider: 'llama2', options: { llama2_format: 'ollama' } }, weight: 0 },
            { model: { provider: 'llama2', options: { llama2_format: 'nope' as never, upstream_url: 'http://x/api/chat' } } },
          ],
          balancer: { algorithm: 'random' as never, retries: -1, hash_on: 'header' },
        }),
      (err: any) => {
        const paths = err.details.map((d: { path: string }) => d.path);
        for (const p of [
          'targets.0.name',
          'targets.0.weight',
          'targets.0.model.options.upstream_url',
          'targets.1.model.options.llama2_format',
          'balancer.algorithm',
          'balancer.retries',
          'balancer.hash_on_header',
        ]) {
          assert.ok(paths.includes(p), `${p} missing from ${paths}`);
        }
        return err.code === 'ERR_AI_PROXY_CONFIG';
      },
    );
  });

  test("each target gets its own auth (the route's as default); a client may name any target's model", async () => {
    const mistral: TargetConfig = {
      name: 'm',
      model: { provider: 'llama2', name: 'mistral', options: { llama2_format: 'ollama', upstream_url: `${b.url}/api/chat` } },
      auth: { header_name: 'Authorization', header_value: 'Bearer b-key' },
    };
    const url = await mount([ollamaTarget('l', a), mistral], {}, { auth: { header_name: 'Authorization', header_value: 'Bearer route-key' } });
    const r1 = await post(url, chatBody({ model: 'mistral' }));
    const r2 = await post(url, chatBody({ model: 'mistral' }));
    assert.deepEqual([r1.status, r2.status], [200, 200]);
    assert.equal(a.last().headers.authorization, 'Bearer route-key');
    assert.equal(a.last().body.model, 'llama2');
    assert.equal(b.last().headers.authorization, 'Bearer b-key');
    assert.equal(b.last().body.model, 'mistral');
    assertOpenAiError(await post(url, chatBody({ model: 'gpt-4' })), 400);
  });

  test('the target header never carries the URL or its credentials', async () => {
    const url = await mount([
      { model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: `http://user:secret@127.0.0.1:${a.port}/api/chat` } } },
    ]);
    const r = await post(url, chatBody());
    assert.equal(r.headers.get('x-ai-proxy-target'), 'target-0');
  });
});
