/**
 * Client-controlled values that used to end the process: a model name Node cannot put in a
 * header, framing headers copied upstream, bodies nested deep enough to overflow the stack when
 * serialised, and user hooks that reject. Each answer is a clean one, and the proxy serves on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { aiProxy, type ProxyStatistics } from '../../lib';
import { MAX_HEADER_VALUE_LENGTH } from '../../lib/headers/header-value';
import { MAX_JSON_DEPTH } from '../../lib/request-body/json-depth';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { rawPost, rawRequest } from '../support/raw-http';
import { type FakeUpstream, startOllama, startOpenAi } from '../support/upstreams';

let ollama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;
let parsed: ProxyApp;
const reports: ProxyStatistics[] = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);

before(async () => {
  process.on('unhandledRejection', onRejection);
  [ollama, openai] = await Promise.all([startOllama(), startOpenAi()]);
  const dead = await startOllama();
  const deadUrl = `${dead.url}/api/chat`;
  await dead.close();
  const chat = `${ollama.url}/api/chat`;
  const logging = { log_statistics: true, log_payloads: true, on_statistics: (s: ProxyStatistics) => void reports.push(s) };
  const routes = (app: express.Express) => {
    app.use('/any', aiProxy(llama2Config('chat', 'ollama', chat, { name: null, logging })));
    app.use('/dead', aiProxy(llama2Config('chat', 'ollama', deadUrl, { name: null })));
    app.use('/openai', aiProxy(llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`, { name: null, logging })));
    app.use(
      '/async-hook',
      aiProxy(
        llama2Config('chat', 'ollama', chat, {
          logging: {
            log_statistics: true,
            on_statistics: async () => {
              throw new Error('the metrics backend is down');
            },
          },
        }),
      ),
    );
  };
  proxy = await startApp(routes);
  parsed = await startApp((app) => {
    app.use(express.json({ limit: '10mb' }));
    // A body parser may hand over anything; this body throws when serialised.
    app.use('/unserialisable', (req, _res, next) => {
      Object.defineProperty(req.body, 'toJSON', {
        value: () => {
          throw new Error('not serialisable');
        },
      });
      next();
    });
    app.use('/unserialisable', aiProxy(llama2Config('chat', 'ollama', chat, { logging })));
    routes(app);
  });
});

after(async () => {
  process.off('unhandledRejection', onRejection);
  await Promise.all([proxy.close(), parsed.close(), ollama.close(), openai.close()]);
});

async function stillServes(app: ProxyApp = proxy): Promise<void> {
  const r = await post(`${app.url}/any`, chatBody({ model: 'llama2' }));
  assert.equal(r.status, 200, r.text);
}

describe('a model name that cannot be a header value', () => {
  const names: Array<[string, string, string]> = [
    ['outside Latin-1', 'llama2-☃', 'llama2/llama2-%E2%98%83'],
    ['CR LF', 'llama2\r\nSet-Cookie: a=1', 'llama2/llama2%0D%0ASet-Cookie: a=1'],
    ['NUL', 'llama2\0', 'llama2/llama2%00'],
    ['20 kB long', 'm'.repeat(20_000), `llama2/${'m'.repeat(MAX_HEADER_VALUE_LENGTH - 7)}`],
  ];
  for (const [what, model, header] of names) {
    for (const [path, stream, status] of [
      ['/any', false, 200],
      ['/any', true, 200],
      ['/dead', false, 502],
      ['/dead', true, 502],
    ] as const) {
      test(`${what}: ${path === '/dead' ? 'unreachable upstream' : stream ? 'stream' : 'JSON'}`, async () => {
        const r = await post(`${proxy.url}${path}`, chatBody({ model, stream }));
        assert.equal(r.status, status, r.text);
        assert.equal(r.headers.get('x-llm-model'), header);
        if (status === 200) {
          // The body carries the name as sent: JSON escapes it.
          assert.ok(r.text.includes(JSON.stringify(model).slice(1, -1)));
          if (!stream) assert.equal(ollama.last().body.model, model);
        }
        await stillServes();
      });
    }
  }
});

describe('client headers that would change the upstream framing', () => {
  test('Trailer: x on a Content-Length request', async () => {
    const r = await rawRequest(proxy.url, rawPost('/any', JSON.stringify(chatBody({ model: 'llama2' })), ['Trailer: x']));
    assert.equal(r.status, 200, r.body);
    assert.equal(ollama.last().headers.trailer, undefined);
    await stillServes();
  });

  test('a chunked body with a real trailer', async () => {
    const body = JSON.stringify(chatBody({ model: 'llama2' }));
    const head = ['POST /any HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Trailer: X-Checksum', '', ''].join(
      '\r\n',
    );
    const r = await rawRequest(proxy.url, `${head}${body.length.toString(16)}\r\n${body}\r\n0\r\nX-Checksum: abc\r\n\r\n`);
    assert.equal(r.status, 200, r.body);
    const seen = ollama.last().headers;
    assert.equal(seen.trailer, undefined);
    assert.equal(seen['transfer-encoding'], undefined);
    assert.equal(seen['content-length'], String(Buffer.byteLength(ollama.last().rawBody)));
    await stillServes();
  });
});

describe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is a 400 at parse time`, () => {
  const deep = (n: number) => `{"model":"llama2","messages":[{"role":"user","content":"hi"}],"extra":${'['.repeat(n)}${']'.repeat(n)}}`;
  for (const [label, app] of [
    ['read by the proxy', () => proxy],
    ['parsed by express.json()', () => parsed],
  ] as const) {
    for (const route of ['/any', '/openai']) {
      test(`${label}, ${route}: 100,000 levels`, async () => {
        const before = reports.length;
        const r = await post(`${app().url}${route}`, undefined, { raw: deep(100_000) });
        const e = assertOpenAiError(r, 400, `the request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`);
        assert.equal(e.code, 'json_too_deep');
        // The proxy's own refusal is reported once, as a client error, without the body.
        assert.equal(reports.length, before + 1);
        assert.equal(reports.at(-1)!.outcome, 'client_error');
        assert.equal(reports.at(-1)!.request_payload, undefined);
        await stillServes(app());
      });
    }
    test(`${label}: exactly ${MAX_JSON_DEPTH} levels is accepted (and logged with log_payloads)`, async () => {
      // `extra` sits at depth 1 of the body, so the array adds MAX - 1 levels.
      const r = await post(`${app().url}/openai`, undefined, { raw: deep(MAX_JSON_DEPTH - 1) });
      assert.equal(r.status, 200, r.text);
      assert.ok(reports.at(-1)!.request_payload!.includes('[[[['));
    });
  }
});

test('a request body that cannot be serialised for the statistics: the answer and the report still come', async () => {
  const r = await post(`${parsed.url}/unserialisable`, chatBody());
  assert.equal(r.status, 200, r.text);
  assert.equal(reports.at(-1)!.request_payload, '[the request body could not be serialised]');
  assert.equal(reports.at(-1)!.status, 200);
});

describe('user hooks', () => {
  test('an async on_statistics that rejects: the answer is fine and no rejection escapes', async () => {
    for (const stream of [false, true]) {
      const r = await post(`${proxy.url}/async-hook`, chatBody({ stream }));
      assert.equal(r.status, 200);
    }
    // Unhandled rejections are reported once the microtask queue drains.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(rejections, []);
  });
});
