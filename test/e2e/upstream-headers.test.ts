/**
 * What goes upstream: hop-by-hop headers and the client's body framing never; the host app's
 * Cookie never by default, its Authorization not when the route has credentials of its own;
 * `forward_headers` changes the defaults. Checked at the fake upstream, over real sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { rawPost, rawRequest } from '../support/raw-http';
import { type FakeUpstream, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;
let parsed: ProxyApp;

before(async () => {
  ollama = await startOllama();
  const chat = `${ollama.url}/api/chat`;
  const routes = (app: express.Express) => {
    app.use('/plain', aiProxy(llama2Config('chat', 'ollama', chat)));
    app.use('/keyed', aiProxy(llama2Config('chat', 'ollama', chat, { auth: { header_name: 'X-Api-Key', header_value: 'route-key' } })));
    app.use('/query-keyed', aiProxy(llama2Config('chat', 'ollama', chat, { auth: { param_name: 'key', param_value: 'route-key', param_location: 'query' } })));
    app.use('/bearer', aiProxy(llama2Config('chat', 'ollama', chat, { auth: { header_name: 'Authorization', header_value: 'Bearer route-key' } })));
    app.use(
      '/bearer-override',
      aiProxy(llama2Config('chat', 'ollama', chat, { auth: { header_name: 'Authorization', header_value: 'Bearer route-key', allow_override: true } })),
    );
    app.use(
      '/custom',
      aiProxy(
        llama2Config('chat', 'ollama', chat, {
          auth: { header_name: 'X-Api-Key', header_value: 'route-key' },
          forward_headers: { allow: ['Cookie', 'Authorization'], deny: ['X-Internal-Token', 'User-Agent'] },
        }),
      ),
    );
  };
  proxy = await startApp(routes);
  parsed = await startApp((app) => {
    app.use(express.json());
    routes(app);
  });
});

after(async () => {
  await Promise.all([proxy.close(), parsed.close(), ollama.close()]);
});

const BODY = JSON.stringify(chatBody());

/** Sends the body with these header lines over a raw socket; returns the headers the upstream saw. */
async function seenUpstream(
  app: ProxyApp,
  path: string,
  headerLines: string[],
  body: string | Buffer = BODY,
): Promise<Record<string, string | string[] | undefined>> {
  const before = ollama.requests.length;
  const r = await rawRequest(app.url, rawPost(path, body, headerLines));
  assert.equal(r.status, 200, r.body);
  assert.equal(ollama.requests.length, before + 1);
  return ollama.last().headers;
}

describe('hop-by-hop headers are never forwarded', () => {
  const hopByHop = [
    'Connection: keep-alive, X-Hop',
    'X-Hop: dropped because Connection names it',
    'Keep-Alive: timeout=5',
    'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
    'Proxy-Connection: keep-alive',
    'TE: trailers',
    'Trailer: X-Checksum',
    'Upgrade: h2c',
  ];
  for (const [label, app] of [
    ['read by the proxy', () => proxy],
    ['after express.json()', () => parsed],
  ] as const) {
    test(label, async () => {
      const seen = await seenUpstream(app(), '/plain', [...hopByHop, 'X-Request-Id: r-1']);
      for (const name of ['x-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']) {
        assert.equal(seen[name], undefined, `${name} was forwarded`);
      }
      // The agent's own connection management (HTTP/1.1 keep-alive by default), not the client's.
      assert.ok(seen.connection === undefined || seen.connection === 'keep-alive', `connection: ${JSON.stringify(seen.connection)}`);
      assert.equal(seen['x-request-id'], 'r-1');
    });
  }
});

describe("the body is re-serialised: the client's framing stays behind", () => {
  test('a gzip body read by the proxy goes upstream as plain JSON', async () => {
    const gz = gzipSync(Buffer.from(BODY));
    const seen = await seenUpstream(proxy, '/plain', ['Content-Encoding: gzip'], gz);
    assert.equal(seen['content-encoding'], undefined);
    assert.equal(seen['content-length'], String(Buffer.byteLength(ollama.last().rawBody)));
    assert.equal(ollama.last().body.messages[0].content, 'What is 1 + 2?');
  });

  test('a gzip body inflated by express.json() is not labelled gzip upstream', async () => {
    const gz = gzipSync(Buffer.from(BODY));
    const seen = await seenUpstream(parsed, '/plain', ['Content-Encoding: gzip'], gz);
    assert.equal(seen['content-encoding'], undefined);
    assert.equal(ollama.last().body.messages[0].content, 'What is 1 + 2?');
  });

  test('a chunked body goes upstream with a Content-Length', async () => {
    const head = ['POST /plain HTTP/1.1', 'Host: 127.0.0.1', 'Transfer-Encoding: chunked', '', ''].join('\r\n');
    const r = await rawRequest(proxy.url, `${head}${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`);
    assert.equal(r.status, 200);
    assert.equal(ollama.last().headers['transfer-encoding'], undefined);
    assert.equal(ollama.last().headers['content-length'], String(Buffer.byteLength(ollama.last().rawBody)));
  });
});

describe("the host app's credentials", () => {
  const appCredentials = ['Cookie: session=host-app-session', 'Authorization: Bearer host-app-user-token'];

  test('without auth on the route: Cookie dropped, Authorization forwarded (it may be meant for the model server)', async () => {
    const seen = await seenUpstream(proxy, '/plain', appCredentials);
    assert.equal(seen.cookie, undefined);
    assert.equal(seen.authorization, 'Bearer host-app-user-token');
  });

  for (const route of ['/keyed', '/query-keyed']) {
    test(`a route with auth of its own (${route}) drops both`, async () => {
      const seen = await seenUpstream(proxy, route, appCredentials);
      assert.equal(seen.cookie, undefined);
      assert.equal(seen.authorization, undefined);
    });
  }

  test("a route whose auth is Authorization replaces the client's", async () => {
    const seen = await seenUpstream(proxy, '/bearer', appCredentials);
    assert.equal(seen.authorization, 'Bearer route-key');
  });

  test('... and keeps it with allow_override', async () => {
    const seen = await seenUpstream(proxy, '/bearer-override', appCredentials);
    assert.equal(seen.authorization, 'Bearer host-app-user-token');
  });

  test('forward_headers: allow brings them back, deny drops more', async () => {
    const seen = await seenUpstream(proxy, '/custom', [...appCredentials, 'X-Internal-Token: t', 'User-Agent: curl/8', 'X-Request-Id: r-2']);
    assert.equal(seen.cookie, 'session=host-app-session');
    assert.equal(seen.authorization, 'Bearer host-app-user-token');
    assert.equal(seen['x-api-key'], 'route-key');
    assert.equal(seen['x-internal-token'], undefined);
    assert.equal(seen['user-agent'], undefined);
    assert.equal(seen['x-request-id'], 'r-2');
  });

  test("the openai SDK's usual headers reach the upstream", async () => {
    const r = await post(`${proxy.url}/plain`, chatBody(), { headers: { 'x-stainless-lang': 'js', 'openai-organization': 'org-1' } });
    assert.equal(r.status, 200);
    assert.equal(ollama.last().headers['x-stainless-lang'], 'js');
    assert.equal(ollama.last().headers['openai-organization'], 'org-1');
  });
});
