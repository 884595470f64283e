/**
 * A bounded soak: a few hundred concurrent requests against an upstream that, request by request,
 * answers well, fails in every way the proxy must survive, or is abandoned by its client. Every
 * request gets the right answer or the right error; afterwards no upstream socket is still in use
 * and the heap is back near where it started.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { aiProxy } from '../../lib';
import { sseData } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type ScriptedUpstream, startScripted, writeForever } from '../support/scripted-upstream';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REQUESTS = 480;
const CONCURRENCY = 16;
const MiB = 1024 * 1024;

const line = (content: string, done = false) =>
  `${JSON.stringify({ model: 'llama2', created_at: '2023-08-04T08:52:19Z', message: { role: 'assistant', content }, done, ...(done ? { done_reason: 'stop', prompt_eval_count: 3, eval_count: 4 } : {}) })}\n`;
const TOKENS = ['The', ' sum', ' is', ' 3.'];

type Case = 'json' | 'stream' | 'status500' | 'reset' | 'die' | 'truncate' | 'hang' | 'trailing' | 'endless-line' | 'abort' | 'garbage';
const CASES: Case[] = ['json', 'stream', 'status500', 'reset', 'die', 'truncate', 'hang', 'trailing', 'endless-line', 'abort', 'garbage'];

let up: ScriptedUpstream;
let proxy: ProxyApp;
const agent = new http.Agent({ keepAlive: true });

before(async () => {
  up = await startScripted();
  up.handle((_req, res, raw) => {
    const kase = JSON.parse(raw).messages[0].content as Case;
    const stream = () => res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    switch (kase) {
      case 'json':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(line(TOKENS.join(''), true));
      case 'status500':
        return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"model crashed"}');
      case 'reset':
        return void res.socket?.destroy();
      case 'hang':
        return;
      case 'garbage':
        stream();
        return void res.end('<html>oops</html>\n');
      case 'stream':
      case 'die':
      case 'truncate':
      case 'trailing':
      case 'endless-line':
      case 'abort':
        break; // an NDJSON stream, below
    }
    stream();
    let i = 0;
    const tick = setInterval(() => {
      if (res.destroyed) return clearInterval(tick);
      if (i < TOKENS.length) {
        res.write(line(TOKENS[i++]!));
        if (kase === 'die' && i === 2) res.socket?.destroy();
        return;
      }
      clearInterval(tick);
      if (kase === 'truncate') return void res.end();
      if (kase === 'endless-line') return void writeForever(res, () => 'x'.repeat(64 * 1024), 64 * MiB);
      res.write(line('', true));
      if (kase === 'trailing') return void writeForever(res, () => line('more').repeat(100), 64 * MiB);
      res.end();
    }, 2);
    res.on('close', () => clearInterval(tick));
  });
  proxy = await startApp((app) => {
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { agent, upstream_timeout: 1500, upstream_first_byte_timeout: 1500 })));
  });
});
after(async () => {
  await Promise.all([proxy.close(), up.close()]);
  agent.destroy();
});

async function one(kase: Case): Promise<void> {
  const stream = kase !== 'json' && kase !== 'status500' && kase !== 'hang' ? true : false;
  const ac = new AbortController();
  const res = await fetch(`${proxy.url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody({ stream, messages: [{ role: 'user', content: kase }] })),
    signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)]),
  });
  if (kase === 'abort') {
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    return;
  }
  const text = await res.text();
  const where = `${kase}: ${res.status} ${text.slice(0, 300)}`;
  switch (kase) {
    case 'json':
      assert.equal(res.status, 200, where);
      assert.equal(JSON.parse(text).choices[0].message.content, 'The sum is 3.', where);
      return;
    case 'status500':
      assert.equal(res.status, 500, where);
      assert.equal(JSON.parse(text).error.message, 'model crashed', where);
      return;
    case 'hang':
      assert.equal(res.status, 504, where);
      return;
    case 'reset':
      assert.equal(res.status, 502, where);
      return;
    case 'stream':
    case 'die':
    case 'truncate':
    case 'trailing':
    case 'endless-line':
    case 'garbage':
      break; // a 200 SSE stream, checked below
  }
  assert.equal(res.status, 200, where);
  const events = sseData(text);
  const content = events
    .filter((e) => e !== '[DONE]' && !e.error)
    .map((e) => e.choices[0].delta.content ?? '')
    .join('');
  if (kase === 'stream' || kase === 'trailing') {
    assert.equal(events.at(-1), '[DONE]', where);
    assert.equal(content, 'The sum is 3.', where);
    return;
  }
  const error = events.at(-1)?.error;
  assert.ok(error, where);
  const expected: Record<string, RegExp> = {
    die: /connection was lost/,
    truncate: /truncated/,
    'endless-line': /line longer than/,
    garbage: /not valid JSON/,
  };
  assert.match(error.message, expected[kase]!, where);
}

test(`soak: ${REQUESTS} mixed requests, ${CONCURRENCY} at a time; sockets and heap back to their start`, { timeout: 60_000 }, async (t) => {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = Date.now();
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const kase = CASES[next++ % CASES.length]!;
        try {
          await one(kase);
        } catch (err) {
          failures.push(`${kase}: ${(err as Error).message.slice(0, 300)}`);
        }
      }
    }),
  );
  const elapsed = Date.now() - started;
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures`);
  assert.ok(elapsed < 30_000, `took ${elapsed} ms`);

  // No upstream socket still in use (the ones left are idle in the keep-alive pool).
  const inUse = () => Object.values(agent.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  const free = () => Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  for (let i = 0; i < 100 && (inUse() > 0 || up.openSockets() > free()); i++) await sleep(50);
  assert.equal(inUse(), 0, 'upstream sockets still in use');
  assert.ok(up.openSockets() <= free(), `${up.openSockets()} upstream sockets open, ${free()} idle in the pool`);

  await sleep(100);
  gc();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  t.diagnostic(
    `${REQUESTS} requests in ${elapsed} ms; heap ${(grown / MiB).toFixed(1)} MiB over the start; ${up.openSockets()} upstream sockets open (idle in the pool)`,
  );
  assert.ok(grown < 16 * MiB, `heap grew by ${(grown / MiB).toFixed(1)} MiB`);
});
