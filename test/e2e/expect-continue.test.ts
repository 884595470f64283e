/**
 * curl sends `Expect: 100-continue` for large bodies; http-proxy skips its request hook when that
 * header reaches the upstream request, so the proxy must still send the rewritten body.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { aiProxy } from '../../lib';
import { type ProxyApp, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;

before(async () => {
  ollama = await startOllama();
  proxy = await startApp((app) => app.use('/chat', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`))));
});

after(async () => {
  await proxy.close();
  await ollama.close();
});

test('a request with Expect: 100-continue is answered, and the upstream gets the rewritten body', { timeout: 5000 }, async () => {
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(200_000) }] });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(`${proxy.url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json', expect: '100-continue' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('continue', () => req.end(body));
    req.on('error', reject);
  });
  assert.equal(status, 200, text);
  assert.equal(JSON.parse(text).object, 'chat.completion');
  const seen = ollama.last();
  assert.equal(seen?.body.stream, false);
  assert.equal(seen?.body.messages[0].content.length, 200_000);
  assert.equal(seen?.headers.expect, undefined);
});
