/**
 * Memory, CPU and time stay bounded whatever the upstream sends: events and lines that never end,
 * a hostile HTML page, data after the final event, bytes dripped forever, a cold model load, and a
 * client that stops reading (blamed on the client, never on the upstream).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiProxy } from '../../lib';
import { openStream, post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type ScriptedUpstream, startScripted, writeForever } from '../support/scripted-upstream';

let up: ScriptedUpstream;
let proxy: ProxyApp;
const MiB = 1024 * 1024;

const OLLAMA_LINE = (text: string) =>
  `${JSON.stringify({ model: 'llama2', created_at: '2023-08-04T08:52:19Z', message: { role: 'assistant', content: text }, done: false })}\n`;
const OLLAMA_DONE = `${JSON.stringify({ model: 'llama2', created_at: '2023-08-04T08:52:19Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 2 })}\n`;
const LLAMACPP_EVENT = (text: string) => `data: ${JSON.stringify({ content: text, stop: false })}\n\n`;
const LLAMACPP_STOP = `data: ${JSON.stringify({ content: '', stop: true, stop_type: 'eos', tokens_evaluated: 3, tokens_predicted: 2 })}\n\n`;

before(async () => {
  up = await startScripted();
  proxy = await startApp((app) => {
    const quick = { upstream_timeout: 300, upstream_first_byte_timeout: 2000, upstream_total_timeout: 1500 };
    app.use('/ollama', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, quick)));
    app.use('/llamacpp', aiProxy(llama2Config('chat', 'raw', `${up.url}/completion`, quick)));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${up.url}/v1/chat/completions`, quick)));
    app.use('/tgi', aiProxy(llama2Config('chat', 'raw', `${up.url}/generate`, quick)));
    // The total limit beyond the first-byte one: the clock must go on once the answer has begun.
    app.use(
      '/long-total',
      aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { upstream_timeout: 300, upstream_first_byte_timeout: 200, upstream_total_timeout: 700 })),
    );
    app.use('/no-answer', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { upstream_first_byte_timeout: 300 })));
    app.use('/cold', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { upstream_timeout: 200, upstream_first_byte_timeout: 3000 })));
    app.use('/slow-client', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { upstream_timeout: 300, client_write_timeout: 3000 })));
    app.use('/stuck-client', aiProxy(llama2Config('chat', 'ollama', `${up.url}/api/chat`, { upstream_timeout: 300, client_write_timeout: 600 })));
  });
});
after(() => Promise.all([proxy.close(), up.close()]));

/** The last frame of a converted stream must be an error; returns it. */
function lastError(text: string): { message: string; code: string | null } {
  const events = sseData(text);
  assert.ok(!events.includes('[DONE]'), text.slice(-500));
  const last = events.at(-1);
  assert.ok(last?.error, `no error frame at the end: ${text.slice(-500)}`);
  return last.error;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

describe('every buffer is capped', () => {
  for (const [route, path, line] of [
    ['llamacpp', 'raw llama.cpp', () => `data: {"content":"${'x'.repeat(1000)}","stop":false}\n`],
    ['openai', 'openai', () => `data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(1000)}"},"finish_reason":null}]}\n`],
    ['tgi', 'raw TGI', () => 'data:\n'],
  ] as const) {
    test(`${path}: an SSE event that never gets its blank line ends the stream, and the upstream is closed`, async (t) => {
      let written: Promise<number> | undefined;
      up.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        written = writeForever(res, line, 48 * MiB);
      });
      const before = process.memoryUsage().heapUsed;
      const r = await post(`${proxy.url}/${route}`, chatBody({ stream: true }), { timeoutMs: 20_000 });
      const grown = process.memoryUsage().heapUsed - before;
      assert.equal(r.status, 200);
      assert.match(lastError(r.text).message, /SSE event larger than/);
      const bytes = await written!;
      t.diagnostic(`upstream wrote ${(bytes / MiB).toFixed(1)} MiB before being closed; heap +${(grown / MiB).toFixed(1)} MiB`);
      assert.ok(bytes < 20 * MiB, `the upstream could write ${bytes} bytes`);
      assert.ok(grown < 64 * MiB, `heap grew by ${grown} bytes`);
    });
  }

  test('ollama: an NDJSON line that never ends ends the stream, and the upstream is closed', async () => {
    let written: Promise<number> | undefined;
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"model":"llama2","message":{"content":"');
      written = writeForever(res, () => 'y'.repeat(4096), 48 * MiB);
    });
    const r = await post(`${proxy.url}/ollama`, chatBody({ stream: true }), { timeoutMs: 20_000 });
    assert.match(lastError(r.text).message, /line longer than/);
    const bytes = await written!;
    assert.ok(bytes < 20 * MiB, `the upstream could write ${bytes} bytes`);
  });
});

describe('no super-linear scan of upstream text', () => {
  test('an HTML error page of `<title` repeated (256 KiB) is answered at once, the event loop never blocked', async () => {
    up.handle((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end(`<html><head>${'<title'.repeat((256 * 1024) / 6)}`);
    });
    let maxLag = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    const r = await post(`${proxy.url}/ollama`, chatBody());
    clearInterval(ticker);
    assertOpenAiError(r, 502, 'the upstream answered with an HTML error page');
    assert.ok(performance.now() - started < 1000);
    assert.ok(maxLag < 200, `the event loop was blocked for ${maxLag} ms`);
  });
});

describe('after the final event the upstream is not read any more', () => {
  for (const [route, first, final, more] of [
    ['ollama', OLLAMA_LINE('Hi'), OLLAMA_DONE, () => OLLAMA_LINE('more').repeat(100)],
    ['llamacpp', LLAMACPP_EVENT('Hi'), LLAMACPP_STOP, () => LLAMACPP_EVENT('more').repeat(100)],
  ] as const) {
    test(`${route}: an upstream that keeps sending after its final event is closed promptly`, async () => {
      let written: Promise<number> | undefined;
      up.handle((_req, res) => {
        res.writeHead(200, { 'content-type': route === 'ollama' ? 'application/x-ndjson' : 'text/event-stream' });
        res.write(first + final);
        written = writeForever(res, more, 256 * MiB);
      });
      const started = Date.now();
      const r = await post(`${proxy.url}/${route}`, chatBody({ stream: true }));
      assert.equal(sseData(r.text).at(-1), '[DONE]', `${r.status} ${r.text.slice(0, 500)}`);
      const bytes = await written!;
      assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
      assert.ok(bytes < 8 * MiB, `the upstream could write ${bytes} bytes after its final event`);
    });
  }
});

/** An Ollama stream that starts at once, then drips a space every 50 ms and never ends. */
function startThenDrip(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.write(OLLAMA_LINE('Hi'));
  const t = setInterval(() => res.write(' '), 50);
  res.on('close', () => clearInterval(t));
}

describe('time limits', () => {
  test('a stream dripping a byte every 50 ms ends at upstream_total_timeout', async () => {
    up.handle(startThenDrip);
    const started = Date.now();
    const r = await post(`${proxy.url}/ollama`, chatBody({ stream: true }));
    const e = lastError(r.text);
    assert.match(e.message, /upstream_total_timeout/);
    assert.equal(e.code, 'upstream_timeout');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 3000, `ended after ${elapsed} ms`);
  });

  test('a JSON answer dripping a byte every 50 ms → 504 at upstream_total_timeout', async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
    });
    const r = await post(`${proxy.url}/ollama`, chatBody());
    assertOpenAiError(r, 504, /upstream_total_timeout/);
    assert.equal(r.json.error.code, 'upstream_timeout');
  });

  test('a total limit longer than the first-byte one still ends a stream that started in time and drips', async () => {
    up.handle(startThenDrip);
    const started = Date.now();
    const r = await post(`${proxy.url}/long-total`, chatBody({ stream: true }));
    const e = lastError(r.text);
    assert.match(e.message, /upstream_total_timeout/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 650 && elapsed < 2000, `ended after ${elapsed} ms`);
  });

  test('no answer at all → 504 at upstream_first_byte_timeout', async () => {
    up.handle(() => undefined);
    const r = await post(`${proxy.url}/no-answer`, chatBody());
    assertOpenAiError(r, 504, /upstream_first_byte_timeout/);
  });

  test('a cold model load: no byte for longer than upstream_timeout, within upstream_first_byte_timeout, is fine', async () => {
    up.handle((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(OLLAMA_LINE('Hi') + OLLAMA_DONE), 700);
    });
    const r = await post(`${proxy.url}/cold`, chatBody({ stream: true }));
    assert.equal(sseData(r.text).at(-1), '[DONE]', r.text);
  });

  test('silence after the answer started is still limited by upstream_timeout', async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(OLLAMA_LINE('Hi'));
    });
    const r = await post(`${proxy.url}/cold`, chatBody({ stream: true }));
    assert.match(lastError(r.text).message, /sent nothing for 200 ms \(upstream_timeout\)/);
  });
});

describe('a client that stops reading is the slow one', () => {
  const LINES = 50_000;
  test('a pause longer than upstream_timeout, shorter than client_write_timeout: the whole answer, no error', async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let i = 0;
      const pump = () => {
        while (i < LINES) if (!res.write(OLLAMA_LINE(`w${i++} `))) return void res.once('drain', pump);
        res.end(OLLAMA_DONE);
      };
      pump();
    });
    const s = await openStream(`${proxy.url}/slow-client`, chatBody({ stream: true }), { timeoutMs: 30_000 });
    await s.readUntil((t) => t.length > 0);
    await sleep(1000); // > upstream_timeout (300 ms): the upstream is held back by us, not silent
    const text = await s.readAll();
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-300));
    assert.equal(sseData(text).filter((e) => e !== '[DONE]').length, LINES + 1);
  });

  test('a client that never reads is disconnected after client_write_timeout, and the upstream closed', async () => {
    let upstreamClosed = false;
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.on('close', () => (upstreamClosed = true));
      void writeForever(res, (i) => OLLAMA_LINE(`w${i} `).repeat(50), 512 * MiB);
    });
    const started = Date.now();
    let response: http.IncomingMessage | undefined;
    const req = http.request(`${proxy.url}/stuck-client`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.pause(); // never reads
      response = res;
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(chatBody({ stream: true })));
    // The proxy gives up on the client, and closes the upstream (which was never at fault).
    assert.ok(await waitFor(() => upstreamClosed, 5000), 'the upstream request was not closed');
    assert.ok(Date.now() - started >= 600, `closed after ${Date.now() - started} ms`);
    // Reading again, the client finds its stream cut: no [DONE].
    let tail = '';
    const ended = await new Promise<string>((resolve) => {
      response!.on('data', (c: Buffer) => (tail = (tail + c.toString('utf8')).slice(-100)));
      response!.on('end', () => resolve('end'));
      response!.on('error', () => resolve('error'));
      response!.on('aborted', () => resolve('aborted'));
      response!.resume();
    });
    assert.ok(ended === 'error' || ended === 'aborted', `the stream ${ended}ed normally`);
    assert.ok(!tail.includes('[DONE]'));
  });
});
