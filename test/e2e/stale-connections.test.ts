/**
 * Upstream connections that behave like real servers (issue 7 §5): llama.cpp's server closes the
 * connection after every streamed answer although it announced keep-alive, and servers close idle
 * keep-alive connections on their own (uvicorn after 5 s, others after 1 s). Reusing such a
 * connection must not become a 502: the pool's idle time stays below those limits, and a request
 * whose reused connection breaks before any byte of the answer is sent once more. A fresh
 * connection that fails is still a 502.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiProxy } from '../../lib';
import { post, sseData } from '../support/http-client';
import { llama2Config, startApp, type ProxyApp } from '../support/proxy-app';
import { type FakeUpstream, startLlamaCpp } from '../support/upstreams';

/**
 * A llama.cpp-shaped upstream that closes idle connections after `idleCloseMs`, as a server with a
 * short keep-alive limit does, without announcing it. A request that arrives on a connection idle for
 * that long is dropped unanswered (the server had closed it; the request only won the race), which
 * makes the race deterministic. `resetAll` drops every request (a server that fails on fresh
 * connections too).
 */
interface IdleClosingServer {
  url: string;
  connections: number;
  requests: number;
  dropped: number;
  resetAll: boolean;
  close(): Promise<void>;
}

async function startIdleClosing(idleCloseMs: number): Promise<IdleClosingServer> {
  const idleSince = new WeakMap<Socket, number>();
  const state: IdleClosingServer = { url: '', connections: 0, requests: 0, dropped: 0, resetAll: false, close: async () => undefined };
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const since = idleSince.get(req.socket);
    if (state.resetAll || (since !== undefined && Date.now() - since >= idleCloseMs)) {
      state.dropped++;
      req.socket.destroy();
      return;
    }
    state.requests++;
    idleSince.delete(req.socket);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ content: ' Hello world!', stop: true, stop_type: 'eos', tokens_predicted: 4, tokens_evaluated: 9 });
      // No Keep-Alive hint: uvicorn sends none either.
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      res.on('finish', () => {
        idleSince.set(req.socket, Date.now());
        setTimeout(() => {
          if (idleSince.get(req.socket) !== undefined) req.socket.destroy();
        }, idleCloseMs + 200).unref();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return state;
}

let llama: FakeUpstream;
let idle: IdleClosingServer;
let proxy: ProxyApp;

before(async () => {
  llama = await startLlamaCpp();
  idle = await startIdleClosing(1000);
  proxy = await startApp((app) => {
    app.use('/llama', aiProxy(llama2Config('chat', 'raw', `${llama.url}/completion`)));
    app.use('/idle', aiProxy(llama2Config('chat', 'raw', `${idle.url}/completion`)));
  });
});
after(() => Promise.all([proxy, llama, idle].map((s) => s.close())));
beforeEach(() => {
  llama.reset();
  idle.resetAll = false;
});

const chat = (extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('a server that closes the connection after every stream (llama.cpp)', () => {
  test('50 back-to-back streamed requests are all answered; the dropped ones were sent again', async () => {
    let answered = 0;
    for (let i = 0; i < 50; i++) {
      const r = await post(`${proxy.url}/llama`, chat({ stream: true }));
      assert.equal(r.status, 200, `request ${i}: ${r.text.slice(0, 200)}`);
      assert.equal(sseData(r.text).at(-1), '[DONE]');
      answered++;
    }
    assert.equal(answered, 50);
    // The race was really run: requests landed on connections the server had given up.
    assert.ok(llama.dropped > 0, 'no request was sent on a closing connection; the test proves nothing');
    assert.equal(llama.requests.length, 50);
  });

  test('8 parallel streams, 10 rounds: all answered (a retry never lands on another stale connection)', async () => {
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.all(Array.from({ length: 8 }, () => post(`${proxy.url}/llama`, chat({ stream: true }))));
      assert.deepEqual(
        rs.map((r) => r.status),
        Array(8).fill(200),
        `round ${round}`,
      );
      assert.ok(rs.every((r) => sseData(r.text).at(-1) === '[DONE]'));
    }
    assert.ok(llama.dropped > 0);
  });

  test('non-streamed and streamed requests interleaved', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await post(`${proxy.url}/llama`, chat({ stream: i % 2 === 0 }));
      assert.equal(r.status, 200, r.text.slice(0, 200));
    }
  });
});

describe('a server that closes idle connections after 1 s', () => {
  test('a request 1.1 s after the last one goes out on a new connection, not the stale one', async () => {
    const before = { connections: idle.connections, dropped: idle.dropped };
    assert.equal((await post(`${proxy.url}/idle`, chat())).status, 200);
    await sleep(1100);
    const r = await post(`${proxy.url}/idle`, chat());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'Hello world!');
    // The pool let the idle socket go before the server's limit: nothing was dropped.
    assert.equal(idle.dropped - before.dropped, 0);
    assert.equal(idle.connections - before.connections, 2);
  });

  test('a fresh connection that fails is a 502, sent once only', async () => {
    // Let pooled connections expire, so the request goes out on a fresh one.
    await sleep(700);
    idle.resetAll = true;
    const dropped = idle.dropped;
    const r = await post(`${proxy.url}/idle`, chat());
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, 'upstream_unreachable');
    assert.equal(idle.dropped - dropped, 1);
  });

  test('a reused connection that fails, then a fresh one that fails: one retry, then 502', async () => {
    assert.equal((await post(`${proxy.url}/idle`, chat())).status, 200);
    idle.resetAll = true;
    const dropped = idle.dropped;
    const r = await post(`${proxy.url}/idle`, chat());
    assert.equal(r.status, 502, r.text);
    assert.equal(idle.dropped - dropped, 2);
  });
});
