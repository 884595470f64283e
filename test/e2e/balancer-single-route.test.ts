/**
 * A balanced route behaves as a single route does (one path, one behaviour), through real sockets:
 * the same upstream header policy, status rule, field contract, redaction, time limits and their
 * messages, request ids and Server-Timing, refusal reports. Each test also runs the same request on
 * a single route where the two must agree byte for byte.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiProxy, type AiProxyConfig, type BalancedAiProxyConfig, type BalancerConfig, type ProxyStatistics, type TargetConfig } from '../../lib';
import { openStream, parseSse, post, sseData, type HttpResult } from '../support/http-client';
import { startHostileUpstream, type HostileUpstream } from '../support/hostile-upstream';
import { type ProxyApp, assertOpenAiError, chatBody, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, startOllama, startOpenAi } from '../support/upstreams';

let a: FakeUpstream;
let b: FakeUpstream;
let oa: FakeUpstream;
let hostile: HostileUpstream;

before(async () => {
  [a, b, oa, hostile] = await Promise.all([startOllama(), startOllama(), startOpenAi(), startHostileUpstream()]);
});
after(() => Promise.all([a.close(), b.close(), oa.close(), hostile.close()]));
beforeEach(() => [a, b, oa].forEach((s) => s.reset()));

function ollamaTarget(name: string, up: FakeUpstream | string, extra: Partial<TargetConfig> = {}, model = 'llama2'): TargetConfig {
  const url = typeof up === 'string' ? up : `${up.url}/api/chat`;
  return { name, model: { provider: 'llama2', name: model, options: { llama2_format: 'ollama', upstream_url: url } }, ...extra };
}

/** A target on the hostile upstream, which misbehaves as the model name says (see hostile-upstream.ts). */
function hostileTarget(name: string, behaviour: string): TargetConfig {
  return ollamaTarget(name, `${hostile.url}/api/chat`, {}, behaviour);
}

let proxy: ProxyApp | undefined;
let closeRoute: (() => void) | undefined;
const stats: ProxyStatistics[] = [];
afterEach(async () => {
  closeRoute?.();
  closeRoute = undefined;
  await proxy?.close();
  proxy = undefined;
  stats.length = 0;
});

const logging = { log_statistics: true, on_statistics: (s: ProxyStatistics) => void stats.push(s) };

/** Mounts a balanced route at /balanced and, when given, a single route at /single; returns the app's URL. */
async function mount(
  targets: TargetConfig[],
  balancer: BalancerConfig = {},
  extra: Partial<BalancedAiProxyConfig> = {},
  single?: AiProxyConfig,
): Promise<string> {
  const mw = aiProxy({ route_type: 'llm/v1/chat', targets, balancer, logging, ...extra });
  closeRoute = mw.close;
  proxy = await startApp((app) => {
    app.use('/balanced', mw);
    if (single) app.use('/single', aiProxy({ logging, ...single }));
  });
  return proxy.url;
}

/** The single-route config of an Ollama target. */
function singleOllama(up: FakeUpstream | string, extra: Partial<AiProxyConfig> = {}, model = 'llama2'): AiProxyConfig {
  const url = typeof up === 'string' ? up : `${up.url}/api/chat`;
  return { route_type: 'llm/v1/chat', model: { provider: 'llama2', name: model, options: { llama2_format: 'ollama', upstream_url: url } }, ...extra };
}

/** POST with any headers, byte for byte on a socket, including those clients refuse to send (Trailer with a Content-Length). */
function rawPost(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  const { port } = new URL(url);
  const head = Object.entries({ host: 'x', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString('utf8');
      const end = got.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(got.slice(0, end))?.[1];
      if (end === -1 || length === undefined || Buffer.byteLength(got.slice(end + 4)) < Number(length)) return;
      socket.destroy();
      resolve({ status: Number(got.slice(9, 12)), text: got.slice(end + 4) });
    });
    socket.on('error', reject);
    socket.write(`POST ${new URL(url).pathname} HTTP/1.1\r\n${head}\r\n${payload}`);
  });
}

/** The error object of an answer, without the headers: what must agree between both kinds of route. */
function errorOf(r: HttpResult): unknown {
  return { status: r.status, body: r.json };
}

describe('upstream request headers: the single route policy', () => {
  test('Cookie, hop-by-hop headers and those Connection names never go upstream; the client Authorization is dropped when the target has auth', async () => {
    const url = await mount([ollamaTarget('a', a, { auth: { header_name: 'Authorization', header_value: 'Bearer target-key' } })]);
    const r = await rawPost(`${url}/balanced`, chatBody(), {
      cookie: 'session=host-app-secret',
      authorization: 'Bearer the-host-apps-user-token',
      trailer: 'x-after',
      te: 'trailers',
      connection: 'keep-alive, x-hop',
      'x-hop': 'hop value',
      'x-end-to-end': 'kept',
    });
    assert.equal(r.status, 200, r.text);
    const sent = a.last().headers;
    assert.equal(sent.cookie, undefined);
    assert.equal(sent.trailer, undefined);
    assert.equal(sent.te, undefined);
    assert.equal(sent['x-hop'], undefined);
    assert.equal(sent.authorization, 'Bearer target-key');
    assert.equal(sent['x-end-to-end'], 'kept');
  });

  test('forward_headers (route level) applies to every target: allow lifts the Cookie drop, deny drops more', async () => {
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], {}, { forward_headers: { allow: ['cookie'], deny: ['x-internal'] } });
    for (let i = 0; i < 2; i++) {
      const r = await rawPost(`${url}/balanced`, chatBody(), { cookie: 'c=1', 'x-internal': 'no', 'x-other': 'yes' });
      assert.equal(r.status, 200, r.text);
    }
    for (const up of [a, b]) {
      assert.equal(up.last().headers.cookie, 'c=1');
      assert.equal(up.last().headers['x-internal'], undefined);
      assert.equal(up.last().headers['x-other'], 'yes');
    }
  });

  test('a bad forward_headers is named in the config error', () => {
    assert.throws(
      () => aiProxy({ route_type: 'llm/v1/chat', targets: [ollamaTarget('a', a)], forward_headers: { allow: ['transfer-encoding'] } }),
      (err: any) => err.details.some((d: { path: string }) => d.path.startsWith('forward_headers')),
    );
  });
});

describe('upstream statuses: only final 2xx/4xx/5xx are relayed', () => {
  for (const behaviour of ['status-302', 'status-304', 'status-101', 'status-099', 'status-000']) {
    test(`${behaviour} from the only target: the single route's 502 bad_upstream_status`, async () => {
      const url = await mount([hostileTarget('h', behaviour)], {}, {}, singleOllama(`${hostile.url}/api/chat`, {}, behaviour));
      const balanced = await post(`${url}/balanced`, chatBody());
      const single = await post(`${url}/single`, chatBody());
      const e = assertOpenAiError(balanced, 502);
      assert.equal(e.code, 'bad_upstream_status');
      assert.deepEqual(errorOf(balanced), errorOf(single));
      assert.equal(stats.find((s) => s.target === 'h')?.status, 502);
    });
  }

  test('a 302 from a target is a target failure: the next target answers (error criterion)', async () => {
    const url = await mount([hostileTarget('redirecting', 'status-302'), ollamaTarget('good', a)]);
    const r = await post(`${url}/balanced`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-ai-proxy-target'), 'good');
    assert.deepEqual(stats[0]!.tried_targets, ['redirecting', 'good']);
  });

  test('a 101 from a target (streamed request) fails over too, and never hangs', async () => {
    const url = await mount([hostileTarget('upgrading', 'status-101'), ollamaTarget('good', a)]);
    const r = await post(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ai-proxy-target'), 'good');
    assert.equal(parseSse(r.text).at(-1)!.data, '[DONE]');
  });

  test('an interim 103 is skipped: the final 200 is the answer', async () => {
    const url = await mount([hostileTarget('hints', 'status-103-then-200')]);
    const r = await post(`${url}/balanced`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'ok');
  });

  test('a hostile Retry-After on a relayed 429 is made safe, as on a single route', async () => {
    const url = await mount(
      [hostileTarget('h', 'retry-after-8k')],
      { failover_criteria: [] },
      {},
      singleOllama(`${hostile.url}/api/chat`, {}, 'retry-after-8k'),
    );
    const balanced = await post(`${url}/balanced`, chatBody());
    const single = await post(`${url}/single`, chatBody());
    assertOpenAiError(balanced, 429);
    assert.ok(balanced.headers.get('retry-after')!.length <= 256);
    assert.equal(balanced.headers.get('retry-after'), single.headers.get('retry-after'));
  });
});

describe('the request: same parsing, contract and refusals', () => {
  test('a field the target refuses gives the single route 400, and the refusal is reported', async () => {
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], {}, {}, singleOllama(a));
    const body = chatBody({ logit_bias: { '42': 5 } });
    const balanced = await post(`${url}/balanced`, body);
    const single = await post(`${url}/single`, body);
    const e = assertOpenAiError(balanced, 400);
    assert.match(e.message, /logit_bias/);
    assert.deepEqual(errorOf(balanced), errorOf(single));
    assert.equal(a.requests.length + b.requests.length, 0);
    assert.deepEqual(
      stats.map((s) => s.status),
      [400, 400],
    );
    assert.equal(stats[0]!.outcome, stats[1]!.outcome);
  });

  test('the contract is per target: a field one target refuses goes to a target that honours it', async () => {
    const openai: TargetConfig = {
      name: 'openai',
      model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'openai', upstream_url: `${oa.url}/v1/chat/completions` } },
    };
    const url = await mount([ollamaTarget('ollama', a), openai]);
    for (let i = 0; i < 3; i++) {
      const r = await post(`${url}/balanced`, chatBody({ logit_bias: { '42': 5 } }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-ai-proxy-target'), 'openai');
    }
    assert.equal(a.requests.length, 0);
    assert.deepEqual(oa.last().body.logit_bias, { '42': 5 });
    // Without the field, both serve.
    for (let i = 0; i < 2; i++) assert.equal((await post(`${url}/balanced`, chatBody())).status, 200);
    assert.equal(a.requests.length, 1);
  });

  test('client_model: replace serves a client naming another model, as on a single route', async () => {
    const url = await mount([ollamaTarget('a', a)], {}, { client_model: 'replace' });
    const r = await post(`${url}/balanced`, chatBody({ model: 'gpt-4o' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(a.last().body.model, 'llama2');
  });

  test('invalid JSON: the same 400 as a single route, reported to on_statistics', async () => {
    const url = await mount([ollamaTarget('a', a)], {}, {}, singleOllama(a));
    const balanced = await post(`${url}/balanced`, undefined, { raw: '{"messages": [' });
    const single = await post(`${url}/single`, undefined, { raw: '{"messages": [' });
    assertOpenAiError(balanced, 400);
    assert.deepEqual(errorOf(balanced), errorOf(single));
    assert.equal(stats.length, 2);
    assert.deepEqual(
      stats.map((s) => s.status),
      [400, 400],
    );
    assert.ok(balanced.headers.get('server-timing'));
  });

  test('request_body_timeout: a body that never ends gets the 408 of a single route', async () => {
    const url = await mount([ollamaTarget('a', a)], {}, { request_body_timeout: 150 });
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write('POST /balanced HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"messages":');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const started = Date.now();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 3000);
    assert.equal(a.requests.length, 0);
    assert.equal(stats[0]?.status, 408);
  });
});

describe('secrets never leave', () => {
  const secret = 'sk-balanced-target-secret-0123456789';
  const auth = { header_name: 'Authorization', header_value: `Bearer ${secret}` };

  test('an upstream error echoing the key (without its Bearer prefix) is redacted, JSON and stream', async () => {
    a.set({ fault: { kind: 'status', status: 401, body: { error: `Incorrect API key provided: ${secret}` } } });
    const url = await mount([ollamaTarget('a', a, { auth })], { failover_criteria: [] });
    const r = await post(`${url}/balanced`, chatBody());
    assertOpenAiError(r, 401);
    assert.ok(!r.text.includes(secret), r.text);
    a.set({ fault: { kind: 'stream-error', afterChunks: 1, message: `bad key ${secret}` } });
    const s = await post(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(s.status, 200);
    assert.ok(sseData(s.text).at(-1).error);
    assert.ok(!s.text.includes(secret), s.text);
  });

  test('every target failing: the final error names no secret of any target', async () => {
    a.set({ fault: { kind: 'status', status: 500, body: { error: `boom ${secret}` } } });
    b.set({ fault: { kind: 'status', status: 502, body: { error: `bang ${secret}` } } });
    const url = await mount([ollamaTarget('a', a, { auth }), ollamaTarget('b', b, { auth })], { circuit_breaker: { enabled: false } });
    const r = await post(`${url}/balanced`, chatBody());
    assertOpenAiError(r, 502);
    assert.ok(!r.text.includes(secret), r.text);
  });
});

describe('time limits: the single route clocks and messages', () => {
  test('a stream that keeps dripping after its first content ends on the total limit, and says so', async () => {
    a.set({ chunkDelayMs: 120, tokens: ['a', ' b', ' c', ' d', ' e', ' f', ' g', ' h'] });
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], { upstream_timeout: 2000, upstream_total_timeout: 400 });
    const r = await post(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    const last = sseData(r.text).at(-1);
    assert.equal(last.error?.code, 'upstream_timeout', r.text);
    assert.match(last.error.message, /upstream_total_timeout/);
    assert.equal(b.requests.length, 0, 'never failed over after the first content');
  });

  test('no first byte: the single route 504 and message', async () => {
    a.set({ fault: { kind: 'hang' } });
    const url = await mount([ollamaTarget('a', a)], { upstream_first_byte_timeout: 150 }, {}, singleOllama(a, { upstream_first_byte_timeout: 150 }));
    const balanced = await post(`${url}/balanced`, chatBody());
    const single = await post(`${url}/single`, chatBody());
    const e = assertOpenAiError(balanced, 504);
    assert.match(e.message, /upstream_first_byte_timeout/);
    assert.deepEqual(errorOf(balanced), errorOf(single));
  });

  test('an unreachable target: the single route 502 message', async () => {
    const dead = await startOllama();
    const deadUrl = `${dead.url}/api/chat`;
    await dead.close();
    const url = await mount([ollamaTarget('dead', deadUrl)], {}, {}, singleOllama(deadUrl));
    const balanced = await post(`${url}/balanced`, chatBody());
    const single = await post(`${url}/single`, chatBody());
    assertOpenAiError(balanced, 502);
    assert.deepEqual(errorOf(balanced), errorOf(single));
  });
});

describe('observability', () => {
  test('the request id goes upstream on every attempt and back to the client; Server-Timing on JSON, stream and error answers', async () => {
    a.set({ fault: { kind: 'status', status: 503, body: { error: 'busy' } } });
    const url = await mount([ollamaTarget('a', a), ollamaTarget('b', b)], { algorithm: 'priority' });
    const r = await post(`${url}/balanced`, chatBody());
    assert.equal(r.status, 200);
    const id = r.headers.get('x-request-id');
    assert.ok(id);
    assert.equal(a.last().headers['x-request-id'], id);
    assert.equal(b.last().headers['x-request-id'], id);
    assert.equal(stats[0]!.request_id, id);
    assert.equal(stats[0]!.target, 'b');
    assert.match(r.headers.get('server-timing') ?? '', /upstream/);

    a.reset();
    const s = await post(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(s.status, 200);
    assert.ok(s.headers.get('server-timing'));
    assert.equal(parseSse(s.text).at(-1)!.data, '[DONE]');

    const c = await post(`${url}/balanced`, chatBody({ stream: true }), { headers: { 'x-request-id': 'client-chosen-id' } });
    assert.equal(c.headers.get('x-request-id'), 'client-chosen-id');
    assert.equal((c.headers.get('x-ai-proxy-target') === 'a' ? a : b).last().headers['x-request-id'], 'client-chosen-id');

    a.set({ fault: { kind: 'reset' } });
    b.set({ fault: { kind: 'reset' } });
    const e = await post(`${url}/balanced`, chatBody());
    assertOpenAiError(e, 502);
    assert.ok(e.headers.get('server-timing'));
  });
});

describe('queue', () => {
  test('a queue refusing at once does not lose the place the request took in another queue: a client leaving from there frees it', async () => {
    a.set({ chunkDelayMs: 100 });
    b.set({ chunkDelayMs: 100 });
    // Priority: `first` is picked whenever both are busy; each serves one at a time and queues one.
    const url = await mount([ollamaTarget('first', a, { max_concurrency: 1 }), ollamaTarget('second', b, { max_concurrency: 1, priority: 1 })], {
      algorithm: 'priority',
      queue: { max_length: 1, max_wait: 10_000 },
    });
    const s1 = await openStream(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(s1.headers.get('x-ai-proxy-target'), 'first');
    const s2 = await openStream(`${url}/balanced`, chatBody({ stream: true }));
    assert.equal(s2.headers.get('x-ai-proxy-target'), 'second');
    // Queued at `first`: its queue is now full.
    const r3 = post(`${url}/balanced`, chatBody(), { timeoutMs: 10_000 });
    await sleep(50);
    // Refused by `first` at once, queued at `second`; then its client leaves.
    const ac = new AbortController();
    const r4 = fetch(`${url}/balanced`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
      signal: ac.signal,
    }).then(
      () => 'answered',
      () => 'aborted',
    );
    await sleep(50);
    ac.abort();
    assert.equal(await r4, 'aborted');
    await sleep(50);
    // Its place at `second` is free again: a fifth request waits there instead of a 503.
    const r5 = post(`${url}/balanced`, chatBody(), { timeoutMs: 10_000 });
    await Promise.all([s1.readAll(), s2.readAll()]);
    const [third, fifth] = await Promise.all([r3, r5]);
    assert.equal(third.status, 200, third.text);
    assert.equal(fifth.status, 200, fifth.text);
    assert.equal(fifth.headers.get('x-ai-proxy-target'), 'second');
    assert.equal(fifth.json.choices[0].message.content, DEFAULT_TEXT);
  });
});
