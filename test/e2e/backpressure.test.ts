/**
 * Nothing is buffered: a client that stops reading makes the proxy stop reading, which makes the
 * upstream's writes block; when the client reads again, the whole answer arrives in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { aiProxy } from '../../lib';
import { type ProxyApp, llama2Config, startApp } from '../support/proxy-app';

const LINES = 300_000;
const line = (i: number) =>
  `${JSON.stringify({ model: 'llama2', created_at: '2023-08-04T08:52:19.385406455-07:00', message: { role: 'assistant', content: `w${i} ` }, done: false })}\n`;
const LINE_BYTES = Buffer.byteLength(line(50_000));

/** An Ollama-like upstream that writes as fast as the socket lets it, and says when it is blocked. */
const upstream = {
  written: 0,
  blocked: false,
  finished: false,
  server: http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let i = 0;
      const pump = () => {
        while (i < LINES) {
          const text = line(i++);
          upstream.written += text.length;
          if (!res.write(text)) {
            upstream.blocked = true;
            res.once('drain', () => {
              upstream.blocked = false;
              pump();
            });
            return;
          }
        }
        res.end(
          `${JSON.stringify({ model: 'llama2', created_at: '2023-08-04T19:22:45Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', eval_count: LINES })}\n`,
        );
        upstream.finished = true;
      };
      pump();
    });
  }),
};

let proxy: ProxyApp;

before(async () => {
  await new Promise<void>((r) => upstream.server.listen(0, '127.0.0.1', r));
  const { port } = upstream.server.address() as AddressInfo;
  proxy = await startApp((app) => app.use('/chat', aiProxy(llama2Config('chat', 'ollama', `http://127.0.0.1:${port}/api/chat`))));
});

after(async () => {
  await proxy.close();
  upstream.server.closeAllConnections();
  await new Promise((r) => upstream.server.close(r));
});

test('a client that stops reading holds the upstream back; the answer then arrives whole', { timeout: 20_000 }, async () => {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(`${proxy.url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(JSON.stringify({ messages: [{ role: 'user', content: 'Write a lot' }], stream: true }));
  });
  assert.equal(res.statusCode, 200);
  res.pause();
  await new Promise((r) => setTimeout(r, 700));

  // Only what socket buffers (several MB on loopback) and stream buffers hold got out of the
  // upstream: far from the whole answer.
  const total = LINES * LINE_BYTES;
  assert.equal(upstream.finished, false, 'the upstream wrote its whole answer while the client read nothing');
  assert.equal(upstream.blocked, true, 'the upstream is not waiting for drain');
  assert.ok(upstream.written < 16 * 1024 * 1024 && upstream.written < total / 2, `upstream wrote ${upstream.written} of ${total} bytes`);

  // Reading again drains everything, in order, ending properly.
  let text = '';
  res.setEncoding('utf8');
  for await (const piece of res) text += piece;
  const frames = text.split('\n\n').filter(Boolean);
  assert.equal(frames.at(-1), 'data: [DONE]');
  const contents = frames.slice(0, -2).map((f) => JSON.parse(f.slice(6)).choices[0].delta.content);
  assert.equal(contents.length, LINES);
  assert.equal(contents[0], 'w0 ');
  assert.equal(contents[LINES - 1], `w${LINES - 1} `);
  assert.equal(upstream.finished, true);
});
