/**
 * The configured credentials reach the upstream as a header, a query parameter or a body
 * parameter; a client's own value survives only with allow_override; the secret never shows up
 * in what the client gets back.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy, type AuthConfig } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOpenAi, startTgi } from '../support/upstreams';

const SECRET = 's3cret-Upstream-Key';

let openai: FakeUpstream;
let tgi: FakeUpstream;
let deadUrl: string;
let proxy: ProxyApp;

const header: AuthConfig = { header_name: 'Authorization', header_value: `Bearer ${SECRET}` };
const query: AuthConfig = { param_name: 'api_key', param_value: SECRET, param_location: 'query' };
const body: AuthConfig = { param_name: 'api_key', param_value: SECRET, param_location: 'body' };

before(async () => {
  [openai, tgi] = await Promise.all([startOpenAi(), startTgi()]);
  // A port nobody listens on: connection refused.
  const dead = await startTgi();
  deadUrl = `${dead.url}/generate`;
  await dead.close();
  const oa = `${openai.url}/v1/chat/completions`;
  proxy = await startApp((app) => {
    app.use('/header', aiProxy(llama2Config('chat', 'openai', oa, { auth: header })));
    app.use('/header-override', aiProxy(llama2Config('chat', 'openai', oa, { auth: { ...header, allow_override: true } })));
    app.use('/query', aiProxy(llama2Config('chat', 'openai', `${oa}?api-version=1`, { auth: query })));
    app.use('/query-override', aiProxy(llama2Config('chat', 'openai', oa, { auth: { ...query, allow_override: true } })));
    app.use('/body', aiProxy(llama2Config('chat', 'openai', oa, { auth: body })));
    app.use('/body-override', aiProxy(llama2Config('chat', 'openai', oa, { auth: { ...body, allow_override: true } })));
    app.use('/tgi-query', aiProxy(llama2Config('chat', 'raw', `${tgi.url}/generate`, { auth: query })));
    app.use('/dead-query', aiProxy(llama2Config('chat', 'raw', deadUrl, { auth: { ...query, ...header } })));
  });
});
after(() => Promise.all([proxy, openai, tgi].map((s) => s.close())));
beforeEach(() => [openai, tgi].forEach((s) => s.reset()));

describe('header', () => {
  test('is set upstream', async () => {
    const r = await post(`${proxy.url}/header`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(openai.last().headers.authorization, `Bearer ${SECRET}`);
  });

  test("replaces the client's own value without allow_override", async () => {
    await post(`${proxy.url}/header`, chatBody(), { headers: { authorization: 'Bearer client-key' } });
    assert.equal(openai.last().headers.authorization, `Bearer ${SECRET}`);
  });

  test("keeps the client's own value with allow_override, and sets it when the client sent none", async () => {
    await post(`${proxy.url}/header-override`, chatBody(), { headers: { authorization: 'Bearer client-key' } });
    assert.equal(openai.last().headers.authorization, 'Bearer client-key');
    await post(`${proxy.url}/header-override`, chatBody());
    assert.equal(openai.last().headers.authorization, `Bearer ${SECRET}`);
  });
});

describe('query parameter', () => {
  test('is added to the upstream URL, keeping its own query', async () => {
    const r = await post(`${proxy.url}/query`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(openai.last().query, { 'api-version': '1', api_key: SECRET });
    assert.equal(openai.last().path, '/v1/chat/completions');
  });

  test("replaces the client's value without allow_override", async () => {
    await post(`${proxy.url}/query?api_key=client-key`, chatBody());
    assert.equal(openai.last().query.api_key, SECRET);
  });

  test("keeps the client's value with allow_override", async () => {
    await post(`${proxy.url}/query-override?api_key=client-key`, chatBody());
    assert.equal(openai.last().query.api_key, 'client-key');
    await post(`${proxy.url}/query-override`, chatBody());
    assert.equal(openai.last().query.api_key, SECRET);
  });

  test('also on a raw (TGI) upstream', async () => {
    const r = await post(`${proxy.url}/tgi-query`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(tgi.last().url, `/generate?api_key=${SECRET}`);
  });
});

describe('body parameter', () => {
  test('is added to the upstream body', async () => {
    const r = await post(`${proxy.url}/body`, chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(openai.last().body.api_key, SECRET);
  });

  test("replaces the client's value without allow_override; keeps it with", async () => {
    await post(`${proxy.url}/body`, chatBody({ api_key: 'client-key' }));
    assert.equal(openai.last().body.api_key, SECRET);
    await post(`${proxy.url}/body-override`, chatBody({ api_key: 'client-key' }));
    assert.equal(openai.last().body.api_key, 'client-key');
  });
});

describe('the secret never reaches the client', () => {
  test('an upstream error that echoes the key', async () => {
    openai.set({
      fault: {
        kind: 'status',
        status: 401,
        body: { error: { message: `Incorrect API key provided: Bearer ${SECRET}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
      },
    });
    const r = await post(`${proxy.url}/header`, chatBody());
    assertOpenAiError(r, 401, /Incorrect API key/);
    assert.ok(!r.text.includes(SECRET), r.text);
  });

  test('an upstream text error that echoes the query string', async () => {
    openai.set({ fault: { kind: 'status', status: 403, body: `Forbidden: /v1/chat/completions?api-version=1&api_key=${SECRET}` } });
    const r = await post(`${proxy.url}/query`, chatBody());
    assertOpenAiError(r, 403);
    assert.ok(!r.text.includes(SECRET), r.text);
  });

  test('an upstream HTML page carrying the key', async () => {
    openai.set({
      fault: { kind: 'status', status: 500, contentType: 'text/html', body: `<html><head><title>Error ${SECRET}</title></head><body>${SECRET}</body></html>` },
    });
    const r = await post(`${proxy.url}/body`, chatBody());
    assertOpenAiError(r, 500);
    assert.ok(!r.text.includes(SECRET), r.text);
  });

  test('connection refused', async () => {
    const r = await post(`${proxy.url}/dead-query`, chatBody());
    assertOpenAiError(r, 502);
    assert.ok(!r.text.includes(SECRET), r.text);
  });

  test('the secret is not sent back in response headers', async () => {
    const r = await post(`${proxy.url}/header`, chatBody());
    for (const [, v] of r.headers) assert.ok(!v.includes(SECRET));
  });
});
