/**
 * Kong's templates in model.name and upstream_url: `$(headers.NAME)`, `$(uri_captures.NAME)`,
 * `$(query_params.NAME)`; a missing value is a 400 naming it; the upstream host can never come
 * from one (no SSRF).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy, AiProxyConfigError, kongRoutes } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama, startOpenAi } from '../support/upstreams';

let ollama: FakeUpstream;
let oai: FakeUpstream;
let proxy: ProxyApp;

before(async () => {
  [ollama, oai] = await Promise.all([startOllama(), startOpenAi()]);
  proxy = await startApp((app) => {
    app.use('/by-header', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { name: '$(headers.x-model)' })));
    app.use('/by-query', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { name: 'llama2:$(query_params.size)' })));
    app.post('/models/:model/chat', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { name: '$(uri_captures.model)' })));
    app.use(
      kongRoutes({
        name: 'per-model',
        paths: ['~/kong/(?<model>[a-z0-9:.-]+)/chat$'],
        methods: ['POST'],
        plugins: [{ name: 'ai-proxy', config: llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { name: '$(uri_captures.model)' }) }],
      }),
    );
    app.use('/deploy', aiProxy(llama2Config('chat', 'openai', `${oai.url}/v1/chat/completions?deployment=$(headers.x-deployment)`, { name: 'm' })));
  });
});
after(() => Promise.all([proxy.close(), ollama.close(), oai.close()]));

test('$(headers.NAME) fills model.name; the client may not send another model', async () => {
  const r = await post(`${proxy.url}/by-header`, chatBody(), { headers: { 'x-model': 'mistral:7b' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(ollama.last().body.model, 'mistral:7b');
  assertOpenAiError(
    await post(`${proxy.url}/by-header`, chatBody({ model: 'other' }), { headers: { 'x-model': 'mistral:7b' } }),
    400,
    'cannot use own model - must be: mistral:7b',
  );
});

test('$(query_params.NAME) and $(uri_captures.NAME) fill model.name', async () => {
  assert.equal((await post(`${proxy.url}/by-query?size=13b`, chatBody())).status, 200);
  assert.equal(ollama.last().body.model, 'llama2:13b');
  assert.equal((await post(`${proxy.url}/models/codellama/chat`, chatBody())).status, 200);
  assert.equal(ollama.last().body.model, 'codellama');
});

test("$(uri_captures.NAME) reads a Kong regex path's named group", async () => {
  const r = await post(`${proxy.url}/kong/mistral:7b/chat`, chatBody());
  assert.equal(r.status, 200, r.text);
  assert.equal(ollama.last().body.model, 'mistral:7b');
  assert.equal(r.headers.get('x-llm-model'), 'llama2/mistral:7b');
});

test('a missing value is a 400 naming the template and how to give it', async () => {
  const n = ollama.requests.length;
  const e = assertOpenAiError(
    await post(`${proxy.url}/by-header`, chatBody()),
    400,
    'model.name uses $(headers.x-model), which has no value in this request: send the header x-model',
  );
  assert.equal(e.code, 'template_value_missing');
  assertOpenAiError(await post(`${proxy.url}/by-query`, chatBody()), 400, /\$\(query_params\.size\).*add \?size= to the URL/);
  assert.equal(ollama.requests.length, n);
});

test('in upstream_url a value is encoded into the path or query, never a new path or host', async () => {
  assert.equal((await post(`${proxy.url}/deploy`, chatBody(), { headers: { 'x-deployment': 'a/../b?c=d' } })).status, 200);
  assert.equal(oai.last().url, '/v1/chat/completions?deployment=a%2F..%2Fb%3Fc%3Dd');
  assertOpenAiError(await post(`${proxy.url}/deploy`, chatBody(), { headers: { 'x-deployment': '..' } }), 400, /not usable/);
});

test('a template in the host (or port, or user info) of upstream_url is refused at config time', () => {
  for (const url of [
    'http://$(headers.x-host)/api/chat',
    'http://127.0.0.1:$(query_params.port)/api/chat',
    'http://$(headers.u)@127.0.0.1/api/chat',
    'http://evil.$(uri_captures.h).com/api/chat',
  ]) {
    assert.throws(
      () => aiProxy(llama2Config('chat', 'ollama', url)),
      (err: AiProxyConfigError) => {
        assert.ok(err instanceof AiProxyConfigError, `${url}: ${err}`);
        // joi already refuses a non-numeric port as a URL; every other case gets the template message.
        assert.match(
          err.message,
          url.includes(':$(') ? /upstream_url must be an absolute http\(s\) URL/ : /the host of upstream_url cannot come from a template/,
        );
        return true;
      },
    );
  }
  assert.throws(() => aiProxy(llama2Config('chat', 'ollama', 'http://127.0.0.1/api/chat', { name: '$(cookies.x)' })), /unknown template source "cookies"/);
});
