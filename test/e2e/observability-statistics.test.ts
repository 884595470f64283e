/**
 * One statistics object per request, on `res.locals.aiProxy` and given to `on_statistics(stats,
 * req, res)`, whatever happened: answered, refused by the proxy, failed upstream, timed out,
 * aborted by the client, cut short by the upstream. Plus request ids and Server-Timing.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { aiProxy, type ProxyStatistics } from '../../lib';
import { openStream, post, sseData } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama, startOpenAi } from '../support/upstreams';

interface Report {
  stats: ProxyStatistics;
  req: IncomingMessage;
  res: ServerResponse;
  /** What `res.locals.aiProxy` held when the response finished or closed (what a logger sees). */
  locals: unknown;
}

let ollama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;
let plain: http.Server;
let plainUrl: string;
const reports: Report[] = [];
const seenLocals = new Map<ServerResponse, unknown>();

before(async () => {
  ollama = await startOllama();
  openai = await startOpenAi();
  const upstream = `${ollama.url}/api/chat`;
  const on_statistics = (stats: ProxyStatistics, req: IncomingMessage, res: ServerResponse) => void reports.push({ stats, req, res, locals: undefined });
  proxy = await startApp((app) => {
    // A logger-style middleware: reads res.locals when the response is over, as pino-http does.
    app.use((_req, res, next) => {
      const grab = () => seenLocals.set(res, res.locals.aiProxy);
      res.once('finish', grab);
      res.once('close', grab);
      next();
    });
    app.use(
      '/s',
      aiProxy(llama2Config('chat', 'ollama', upstream, { options: { input_cost: 1, output_cost: 2 }, logging: { log_statistics: true, on_statistics } })),
    );
    app.use('/oa', aiProxy(llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`, { logging: { log_statistics: true, on_statistics } })));
    app.use('/small', aiProxy(llama2Config('chat', 'ollama', upstream, { max_request_body_size: 64, logging: { log_statistics: true, on_statistics } })));
    app.use(
      '/slow',
      aiProxy(
        llama2Config('chat', 'ollama', upstream, { upstream_timeout: 150, upstream_first_byte_timeout: 150, logging: { log_statistics: true, on_statistics } }),
      ),
    );
    app.use('/quiet', aiProxy(llama2Config('chat', 'ollama', upstream, { logging: { on_statistics }, observability: { server_timing: false } })));
    app.use(
      '/async-hook',
      aiProxy(
        llama2Config('chat', 'ollama', upstream, {
          logging: {
            log_statistics: true,
            on_statistics: async () => {
              throw new Error('async hook failed');
            },
          },
        }),
      ),
    );
  });
  // A plain http server has no res.locals: the proxy makes one.
  const mw = aiProxy(llama2Config('chat', 'ollama', upstream));
  plain = http.createServer((req, res) => {
    res.once('finish', () => seenLocals.set(res, (res as ServerResponse & { locals?: { aiProxy?: unknown } }).locals?.aiProxy));
    mw(req, res, () => res.writeHead(404).end());
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
});

after(async () => {
  plain.closeAllConnections();
  await new Promise((r) => plain.close(r));
  await proxy.close();
  await ollama.close();
  await openai.close();
});

beforeEach(() => {
  reports.length = 0;
  seenLocals.clear();
  ollama.reset();
  openai.reset();
});

async function waitFor<T>(get: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The single report of the request just made (fails on none or more than one), with what the logger saw. */
async function onlyReport(): Promise<Report> {
  const r = await waitFor(() => reports[0], 'a statistics report');
  await waitFor(() => (seenLocals.has(r.res) ? true : undefined), 'the response to finish');
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(reports.length, 1, `expected one report, got ${reports.map((x) => x.stats.outcome).join(', ')}`);
  return { ...r, locals: seenLocals.get(r.res) };
}

describe('one statistics object per request, for every outcome', () => {
  test('answered (JSON): outcome, finish reason, ids, timings; the same object on res.locals and in the hook', async () => {
    ollama.set({ promptTokens: 9, completionTokens: 4 });
    const r = await post(`${proxy.url}/s`, chatBody(), { headers: { 'x-request-id': 'req-abc.123' } });
    assert.equal(r.status, 200);
    const { stats, req, res, locals } = await onlyReport();
    assert.equal(locals, stats);
    assert.equal(req.headers['x-request-id'], 'req-abc.123');
    assert.equal(res.statusCode, 200);
    assert.equal(stats.outcome, 'complete');
    assert.equal(stats.finish_reason, 'stop');
    assert.equal(stats.request_id, 'req-abc.123');
    assert.equal(stats.target, ollama.url);
    assert.deepEqual([stats.status, stats.upstream_status, stats.prompt_tokens, stats.completion_tokens, stats.usage_source], [200, 200, 9, 4, 'upstream']);
    assert.equal(stats.cost, (9 * 1 + 4 * 2) / 1e6);
    assert.ok(stats.upstream_latency_ms! > 0 && stats.upstream_latency_ms! <= stats.latency_ms + 1, JSON.stringify(stats));
    assert.equal(stats.time_to_first_token_ms, undefined);
  });

  test('answered at max_tokens: outcome length', async () => {
    ollama.set({ finishReason: 'length' });
    await post(`${proxy.url}/s`, chatBody({ stream: true }));
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.finish_reason], ['length', 'length']);
  });

  test('the proxy refuses a bad body itself (400): client_error, no upstream figures', async () => {
    const r = await post(`${proxy.url}/s`, { messages: 'not a list' });
    assert.equal(r.status, 400);
    const { stats, locals } = await onlyReport();
    assert.equal(locals, stats);
    assert.deepEqual([stats.outcome, stats.status, stats.total_tokens, stats.usage_source, stats.model], ['client_error', 400, 0, 'none', 'llama2']);
    assert.equal(stats.upstream_latency_ms, undefined);
    assert.equal(stats.upstream_status, undefined);
    assert.equal(stats.request_id, r.headers.get('x-request-id'));
    assert.equal(ollama.requests.length, 0);
  });

  test('the proxy refuses a body too large (413): client_error', async () => {
    const r = await post(`${proxy.url}/small`, chatBody({ padding: 'x'.repeat(200) }));
    assert.equal(r.status, 413);
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.status], ['client_error', 413]);
  });

  test('the upstream answers an error: upstream_error with its status', async () => {
    ollama.set({ fault: { kind: 'status', status: 503, body: { error: 'overloaded' } } });
    const r = await post(`${proxy.url}/s`, chatBody());
    assert.equal(r.status, 503);
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.status, stats.upstream_status], ['upstream_error', 503, 503]);
  });

  test('the upstream is unreachable (connection reset): upstream_error, 502', async () => {
    ollama.set({ fault: { kind: 'reset' } });
    const r = await post(`${proxy.url}/s`, chatBody());
    assert.equal(r.status, 502);
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.status, stats.upstream_status], ['upstream_error', 502, undefined]);
  });

  test('the upstream says nothing for upstream_timeout: timeout, 504', async () => {
    ollama.set({ fault: { kind: 'hang' } });
    const r = await post(`${proxy.url}/slow`, chatBody());
    assert.equal(r.status, 504);
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.status], ['timeout', 504]);
  });

  test('answered (stream): time to first token and time per output token', async () => {
    ollama.set({ tokens: ['a', ' b', ' c', ' d', ' e'], chunkDelayMs: 20, promptTokens: 3 });
    const r = await post(`${proxy.url}/s`, chatBody({ stream: true }));
    assert.equal(sseData(r.text).at(-1), '[DONE]');
    const { stats, locals } = await onlyReport();
    assert.equal(locals, stats);
    assert.deepEqual([stats.outcome, stats.streamed, stats.completion_tokens, stats.usage_source], ['complete', true, 5, 'upstream']);
    const ttft = stats.time_to_first_token_ms!;
    const tpot = stats.time_per_output_token_ms!;
    assert.ok(ttft > 0 && ttft < stats.latency_ms, JSON.stringify(stats));
    // Four more tokens, 20 ms apart.
    assert.ok(tpot >= 15 && tpot < 200, `time per output token ${tpot}`);
  });

  test('a client that leaves mid-stream: aborted, with the tokens relayed so far', async () => {
    ollama.set({ tokens: Array.from({ length: 40 }, (_, i) => ` t${i}`), chunkDelayMs: 25 });
    const s = await openStream(`${proxy.url}/s`, chatBody({ stream: true }));
    await s.readUntil((text) => sseData(text).length >= 3);
    s.abort();
    const { stats } = await onlyReport();
    assert.equal(stats.outcome, 'aborted');
    assert.equal(stats.usage_source, 'relayed');
    assert.ok(stats.completion_tokens >= 3 && stats.completion_tokens < 40, `completion_tokens ${stats.completion_tokens}`);
    assert.equal(stats.total_tokens, stats.completion_tokens);
  });

  test('a client that leaves before the answer begins: aborted', async () => {
    ollama.set({ responseDelayMs: 300 });
    const ac = new AbortController();
    const pending = fetch(`${proxy.url}/s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
      signal: ac.signal,
    }).catch(() => undefined);
    await ollama.nextRequest();
    ac.abort();
    await pending;
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.completion_tokens], ['aborted', 0]);
  });

  test('an upstream stream that ends before its final event: truncated, tokens counted from the chunks relayed', async () => {
    ollama.set({ tokens: ['x', ' y', ' z'], fault: { kind: 'truncate' } });
    const r = await post(`${proxy.url}/s`, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.completion_tokens, stats.usage_source], ['truncated', 3, 'relayed']);
  });

  test('an upstream connection lost mid-stream: truncated', async () => {
    ollama.set({ tokens: ['x', ' y', ' z', ' w'], fault: { kind: 'die', afterChunks: 2 } });
    await post(`${proxy.url}/s`, chatBody({ stream: true }));
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.completion_tokens], ['truncated', 2]);
  });

  test('openai format: a truncated stream counts the content chunks passed through; a whole one gets finish reason and usage', async () => {
    openai.set({ tokens: ['p', ' q', ' r', ' s'], fault: { kind: 'truncate' } });
    await post(`${proxy.url}/oa`, chatBody({ stream: true }));
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.completion_tokens, stats.usage_source], ['truncated', 4, 'relayed']);
    reports.length = 0;
    seenLocals.clear();
    openai.set({ fault: undefined, finishReason: 'length', promptTokens: 8, completionTokens: 4 });
    await post(`${proxy.url}/oa`, chatBody({ stream: true }));
    const whole = (await onlyReport()).stats;
    assert.deepEqual(
      [whole.outcome, whole.finish_reason, whole.prompt_tokens, whole.completion_tokens, whole.usage_source],
      ['length', 'length', 8, 4, 'upstream'],
    );
  });

  test('an error inside the upstream stream: upstream_error', async () => {
    ollama.set({ fault: { kind: 'stream-error', afterChunks: 1 } });
    await post(`${proxy.url}/s`, chatBody({ stream: true }));
    const { stats } = await onlyReport();
    assert.deepEqual([stats.outcome, stats.status], ['upstream_error', 200]);
  });
});

describe('where the statistics go', () => {
  test('log_statistics off: res.locals.aiProxy is filled, the hook is not called', async () => {
    const r = await post(`${proxy.url}/quiet`, chatBody());
    assert.equal(r.status, 200);
    const [res, locals] = await waitFor(() => [...seenLocals][0], 'the response to finish');
    assert.equal((locals as ProxyStatistics).outcome, 'complete');
    assert.equal((locals as ProxyStatistics).request_id, r.headers.get('x-request-id'));
    assert.equal(res.statusCode, 200);
    await new Promise((r2) => setTimeout(r2, 30));
    assert.equal(reports.length, 0);
  });

  test('a plain http server: res.locals is created', async () => {
    const r = await post(plainUrl, chatBody());
    assert.equal(r.status, 200);
    const [, locals] = await waitFor(() => [...seenLocals][0], 'the response to finish');
    assert.equal((locals as ProxyStatistics).outcome, 'complete');
  });

  test('an async hook that rejects breaks nothing', async () => {
    const r = await post(`${proxy.url}/async-hook`, chatBody());
    assert.equal(r.status, 200);
    await new Promise((r2) => setTimeout(r2, 30));
    assert.equal((await post(`${proxy.url}/async-hook`, chatBody())).status, 200);
  });
});

describe('request ids', () => {
  test('a valid X-Request-Id is kept, sent upstream and returned', async () => {
    const r = await post(`${proxy.url}/s`, chatBody(), { headers: { 'x-request-id': 'trace:42/abc=' } });
    assert.equal(r.headers.get('x-request-id'), 'trace:42/abc=');
    assert.equal(ollama.last().headers['x-request-id'], 'trace:42/abc=');
  });

  for (const [name, bad] of [
    ['spaces', 'a b'],
    ['too long', 'x'.repeat(129)],
    ['quotes', 'a"b'],
    ['a comma', 'a,b'],
  ] as const) {
    test(`an X-Request-Id with ${name} is replaced by a new one, upstream too`, async () => {
      const r = await post(`${proxy.url}/s`, chatBody(), { headers: { 'x-request-id': bad } });
      const id = r.headers.get('x-request-id')!;
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(ollama.last().headers['x-request-id'], id);
    });
  }

  test('without one, each request gets its own, on streams and errors too', async () => {
    const a = await post(`${proxy.url}/s`, chatBody({ stream: true }));
    const b = await post(`${proxy.url}/s`, { messages: 3 });
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    assert.ok(ids[0] && ids[1] && ids[0] !== ids[1], String(ids));
  });
});

describe('Server-Timing', () => {
  const timing = /^aiproxy;dur=\d+(\.\d+)?, upstream;dur=\d+(\.\d+)?$/;

  test('JSON answers carry the proxy time and the upstream time', async () => {
    ollama.set({ responseDelayMs: 60 });
    const r = await post(`${proxy.url}/s`, chatBody());
    const value = r.headers.get('server-timing') ?? '';
    assert.match(value, timing);
    const upstream = Number(/upstream;dur=([\d.]+)/.exec(value)![1]);
    const own = Number(/aiproxy;dur=([\d.]+)/.exec(value)![1]);
    assert.ok(upstream >= 55, value);
    assert.ok(own < upstream, value);
  });

  test('upstream errors carry it too', async () => {
    ollama.set({ fault: { kind: 'status', status: 500, body: { error: 'x' } } });
    assert.match((await post(`${proxy.url}/s`, chatBody())).headers.get('server-timing') ?? '', timing);
  });

  test('an answer that cannot be converted (502) carries it too', async () => {
    ollama.set({ fault: { kind: 'garbage' } });
    const r = await post(`${proxy.url}/s`, chatBody());
    assert.equal(r.status, 502);
    assert.match(r.headers.get('server-timing') ?? '', timing);
  });

  test('streams: the figures known when the headers leave, upstream until its headers', async () => {
    const r = await post(`${proxy.url}/s`, chatBody({ stream: true }));
    assert.match(r.headers.get('server-timing') ?? '', /^aiproxy;dur=[\d.]+, upstream;dur=[\d.]+;desc="headers"$/);
  });

  test("the proxy's own refusals: its time only", async () => {
    assert.match((await post(`${proxy.url}/s`, { messages: 1 })).headers.get('server-timing') ?? '', /^aiproxy;dur=[\d.]+$/);
  });

  test('server_timing: false sends none', async () => {
    const r = await post(`${proxy.url}/quiet`, chatBody());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('server-timing'), null);
  });
});
