/**
 * The proxy runs inside its users' servers: nothing a client, an upstream or a hook does may end
 * the process. This runs the proxy in a child process with Node's default handling (an uncaught
 * exception or unhandled rejection exits) and fires a corpus of hostile requests and upstream
 * behaviours at it; after each one the process must be alive and answer the next request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { HOSTILE_ANSWERS } from '../support/hostile-upstream';
import { openStream, post } from '../support/http-client';
import { rawPost, rawRequest } from '../support/raw-http';

let child: ChildProcess;
let url: string;
let stderr = '';

before(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/crash-target.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk.toString();
    if (out.includes('\n')) break;
  }
  url = JSON.parse(out.split('\n')[0]!).url;
});

after(async () => {
  if (child.exitCode === null) {
    child.kill();
    await once(child, 'exit');
  }
});

const user = [{ role: 'user', content: 'hi' }];
const body = (extra: Record<string, unknown> = {}) => ({ model: 'llama2', messages: user, ...extra });
const deep = (n: number) => `{"model":"llama2","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(n)}${']'.repeat(n)}}`;

/** Sends something hostile; any answer, or none, is acceptable here: only survival is checked. */
type Attack = () => Promise<unknown>;

const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
const send =
  (route: string, b: unknown, headers?: Record<string, string>, raw?: string | Buffer): Attack =>
  () =>
    quietly(post(`${url}${route}`, b, { headers, raw, timeoutMs: 3000 }));
const sendRaw =
  (bytes: string | Buffer, opts: Parameters<typeof rawRequest>[2] = {}): Attack =>
  () =>
    quietly(rawRequest(url, bytes, { timeoutMs: 3000, ...opts }));

const corpus: Array<[string, Attack]> = [];
const badModels: Array<[string, string]> = [
  ['non-Latin-1 model', 'llama2-☃'],
  ['CR LF model', 'llama2\r\nSet-Cookie: a=1'],
  ['NUL model', 'llama2\0'],
  ['20 kB model', 'm'.repeat(20_000)],
  ['lone surrogate model', 'a\ud800'],
];
for (const prefix of ['', '/parsed']) {
  for (const route of ['/any', '/openai', '/raw', '/dead']) {
    for (const stream of [false, true]) {
      for (const [name, model] of badModels)
        corpus.push([`${name} → ${prefix}${route}${stream ? ' (stream)' : ''}`, send(`${prefix}${route}`, body({ model, stream }))]);
    }
    corpus.push([`100,000-deep JSON → ${prefix}${route}`, send(`${prefix}${route}`, undefined, undefined, deep(100_000))]);
  }
}
for (const [name, answer] of Object.keys(HOSTILE_ANSWERS).map((k) => [k, k] as const)) {
  for (const route of ['/any', '/openai', '/raw', '/parsed/any']) {
    for (const stream of [false, true]) corpus.push([`upstream ${name} → ${route}${stream ? ' (stream)' : ''}`, send(route, body({ model: answer, stream }))]);
  }
}
const json = JSON.stringify(body());
corpus.push(
  ['Trailer header on a Content-Length request', sendRaw(rawPost('/any', json, ['Trailer: x']))],
  ['Trailer header, parsed route', sendRaw(rawPost('/parsed/any', json, ['Trailer: x']))],
  [
    'chunked body with a trailer',
    sendRaw(`POST /any HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-A\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\nX-A: 1\r\n\r\n`),
  ],
  [
    'Connection naming other headers',
    sendRaw(rawPost('/any', json, ['Connection: keep-alive, Content-Type, Host', 'Keep-Alive: 5', 'TE: trailers', 'Upgrade: h2c'])),
  ],
  ['Upgrade request', sendRaw(rawPost('/any', json, ['Connection: Upgrade', 'Upgrade: websocket']))],
  ['Expect: 100-continue', sendRaw(rawPost('/any', json, ['Expect: 100-continue']))],
  ['gzip bomb', send('/any', undefined, { 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x61)))],
  ['gzip bomb, parsed route', send('/parsed/any', undefined, { 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x61)))],
  ['not gzip although labelled gzip', send('/any', undefined, { 'content-encoding': 'gzip' }, json)],
  ['cut gzip', send('/any', undefined, { 'content-encoding': 'gzip' }, gzipSync(json).subarray(0, 20))],
  ['zstd', send('/any', undefined, { 'content-encoding': 'zstd' }, json)],
  ['zstd, parsed route', send('/parsed/any', undefined, { 'content-encoding': 'zstd' }, json)],
  ['body that stops half-way', sendRaw(rawPost('/any', json).subarray(0, 60))],
  ['Content-Length larger than the body, then close', sendRaw(Buffer.concat([rawPost('/any', json).subarray(0, 60)]), { timeoutMs: 100 })],
  ['invalid JSON', send('/any', undefined, undefined, '{"model":')],
  ['BOM', send('/any', undefined, undefined, `\ufeff${json}`)],
  ['empty body', send('/any', undefined, undefined, '')],
  ['invalid UTF-8', send('/any', undefined, undefined, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
  ['a JSON array', send('/any', [1, 2, 3])],
  ['wrong types everywhere', send('/any', { model: 5, messages: { role: 'user' }, stream: 'yes', max_tokens: 1e308, stop: [1], temperature: '1' })],
  [
    'prototype keys',
    send(
      '/any',
      undefined,
      undefined,
      '{"__proto__":{"stream":true},"constructor":{"prototype":{}},"model":"llama2","messages":[{"role":"user","content":"hi"}]}',
    ),
  ],
  ['huge message array', send('/any', body({ messages: Array.from({ length: 5000 }, () => ({ role: 'user', content: 'x' })) }))],
  ['query override with invalid percent-encoding', send('/keyed?key=%E0%A4%A', { model: 'llama2', prompt: 'hi' })],
  ['query override with a lone surrogate', send('/keyed?key=%ED%A0%80', { model: 'llama2', prompt: 'hi' })],
  ['body over the limit', send('/any', body({ pad: 'x'.repeat(300 * 1024) }))],
  ['GET', () => quietly(fetch(`${url}/any`, { signal: AbortSignal.timeout(3000) }))],
  ['sync throwing hook', send('/throwing-hook', body())],
  ['sync throwing hook, stream', send('/throwing-hook', body({ stream: true }))],
  [
    'client gone mid-stream (upstream hangs)',
    async () => {
      const s = await openStream(`${url}/any`, body({ model: 'hang', stream: true }), { timeoutMs: 3000 }).catch(() => undefined);
      s?.abort();
    },
  ],
  [
    'client gone before the upstream answers',
    async () => {
      const ac = new AbortController();
      const p = fetch(`${url}/any`, { method: 'POST', body: JSON.stringify(body({ model: 'hang' })), signal: ac.signal }).catch(() => undefined);
      setTimeout(() => ac.abort(), 20);
      await p;
    },
  ],
);

/** The process answers a normal request, JSON and stream. */
async function healthy(after: string): Promise<void> {
  assert.equal(child.exitCode, null, `the proxy process died after "${after}":\n${stderr.slice(-3000)}`);
  for (const stream of [false, true]) {
    const r = await post(`${url}/any`, body({ stream }), { timeoutMs: 3000 }).catch((err: Error) =>
      assert.fail(`no answer after "${after}": ${err.message}\n${stderr.slice(-3000)}`),
    );
    assert.equal(r.status, 200, `after "${after}": ${r.text.slice(0, 300)}`);
  }
}

test(`the proxy process survives ${corpus.length} hostile requests and upstream behaviours`, { timeout: 120_000 }, async () => {
  await healthy('start');
  for (const [name, attack] of corpus) {
    await attack();
    // A late throw (a hook's rejection, a timer) surfaces within a few turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await healthy(name);
  }
  // Hooks that reject do so asynchronously: give the last ones time to land.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await healthy('the end');
});
