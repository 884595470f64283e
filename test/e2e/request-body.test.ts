/**
 * Reading the client's body without a parser in front: gzip/deflate/br are inflated within
 * max_request_body_size (counted after inflating), other encodings are a 415, a UTF-8 BOM is
 * fine, and a client that sends its body too slowly gets a 408 within request_body_timeout.
 * None of these reach the upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { rawPost, rawRequest } from '../support/raw-http';
import { type FakeUpstream, startOllama } from '../support/upstreams';

const BODY_TIMEOUT_MS = 300;
let ollama: FakeUpstream;
let proxy: ProxyApp;

before(async () => {
  ollama = await startOllama();
  const chat = `${ollama.url}/api/chat`;
  proxy = await startApp((app) => {
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', chat, { request_body_timeout: BODY_TIMEOUT_MS })));
    app.use('/small', aiProxy(llama2Config('chat', 'ollama', chat, { max_request_body_size: 64 * 1024 })));
  });
});

after(async () => {
  await Promise.all([proxy.close(), ollama.close()]);
});

const TEXT = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'héllo 🦙' }] }));

describe('Content-Encoding', () => {
  for (const [encoding, encode] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    test(`${encoding} is inflated`, async () => {
      const r = await post(`${proxy.url}/chat`, undefined, { raw: encode(Buffer.from(TEXT)), headers: { 'content-encoding': encoding } });
      assert.equal(r.status, 200, r.text);
      assert.equal(ollama.last().body.messages[0].content, 'héllo 🦙');
    });
  }

  test('an unknown encoding is a 415, and nothing goes upstream', async () => {
    const before = ollama.requests.length;
    const r = await post(`${proxy.url}/chat`, undefined, { raw: TEXT, headers: { 'content-encoding': 'zstd' } });
    const e = assertOpenAiError(r, 415);
    assert.equal(e.code, 'unsupported_content_encoding');
    assert.equal(ollama.requests.length, before);
  });

  test('a zip bomb is a 413 once the inflated size passes the limit', async () => {
    const bomb = gzipSync(Buffer.from(`{"messages":[{"role":"user","content":"${'a'.repeat(50 * 1024 * 1024)}"}]}`));
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`);
    const before = ollama.requests.length;
    const r = await post(`${proxy.url}/small`, undefined, { raw: bomb, headers: { 'content-encoding': 'gzip' } });
    const e = assertOpenAiError(r, 413);
    assert.equal(e.code, 'request_too_large');
    assert.equal(ollama.requests.length, before);
  });

  test('a body that is not gzip although labelled so is a 400', async () => {
    const r = await post(`${proxy.url}/chat`, undefined, { raw: TEXT, headers: { 'content-encoding': 'gzip' } });
    assertOpenAiError(r, 400);
  });
});

test('a UTF-8 byte order mark before the JSON is accepted', async () => {
  const r = await post(`${proxy.url}/chat`, undefined, { raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]) });
  assert.equal(r.status, 200, r.text);
});

describe('request_body_timeout', () => {
  test('a body that stops half-way is a 408 within the timeout, and the connection is closed', async () => {
    const whole = rawPost('/chat', TEXT);
    const before = ollama.requests.length;
    const started = Date.now();
    const r = await rawRequest(proxy.url, whole.subarray(0, whole.length - 10), { timeoutMs: 3000 });
    const elapsed = Date.now() - started;
    assert.equal(r.status, 408);
    assert.equal(JSON.parse(r.body).error.code, 'request_timeout');
    assert.equal(r.headers.connection, 'close');
    assert.ok(elapsed >= BODY_TIMEOUT_MS - 20 && elapsed < BODY_TIMEOUT_MS + 1000, `answered after ${elapsed} ms`);
    assert.equal(ollama.requests.length, before);
  });

  test('a body dripping byte by byte is cut at the timeout too (the deadline is total, not idle)', async () => {
    const whole = rawPost('/chat', TEXT);
    const head = whole.subarray(0, whole.indexOf('\r\n\r\n') + 4);
    // Each byte arrives well within any idle timeout; the whole body would take seconds.
    const r = await rawRequest(proxy.url, head, { drip: whole.subarray(head.length), dripEveryMs: 30, timeoutMs: 3000 });
    assert.equal(r.status, 408);
  });

  test('a body sent in time, in two pieces, is answered', async () => {
    const whole = rawPost('/chat', TEXT);
    const r = await rawRequest(proxy.url, whole.subarray(0, 40), { later: whole.subarray(40), pauseMs: 50 });
    assert.equal(r.status, 200, r.body);
  });
});
