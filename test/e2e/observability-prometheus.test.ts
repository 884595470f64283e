/**
 * `aiProxyMetrics()`: prom-client's registry output after a mix of requests, checked for metric
 * names (GenAI semantic conventions in Prometheus form), labels and counts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { aiProxy, aiProxyMetrics } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;
const register = new Registry();

before(async () => {
  ollama = await startOllama();
  const metrics = aiProxyMetrics({ register });
  proxy = await startApp((app) => {
    app.use(
      '/chat',
      aiProxy(
        llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, {
          options: { input_cost: 1000, output_cost: 2000 },
          observability: { metrics, route_name: 'chat' },
        }),
      ),
    );
    app.use('/other', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { observability: { metrics: aiProxyMetrics({ register }) } })));
    app.get('/metrics', async (_req, res) => {
      res.type(register.contentType).send(await register.metrics());
    });
  });
});

after(async () => {
  await proxy.close();
  await ollama.close();
});

/** The value of the sample with exactly these labels (in registration order), or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('a mix of requests: counts by route, model, format and outcome; tokens, cost, durations, TTFT, in flight', async () => {
  ollama.set({ promptTokens: 10, completionTokens: 4 });
  assert.equal((await post(`${proxy.url}/chat`, chatBody())).status, 200);
  assert.equal((await post(`${proxy.url}/chat`, chatBody())).status, 200);
  ollama.set({ tokens: ['a', ' b', ' c', ' d'], chunkDelayMs: 5 });
  assert.equal((await post(`${proxy.url}/chat`, chatBody({ stream: true }))).status, 200);
  assert.equal((await post(`${proxy.url}/chat`, { messages: 'bad' })).status, 400);
  ollama.set({ fault: { kind: 'status', status: 503, body: { error: 'busy' } } });
  assert.equal((await post(`${proxy.url}/other`, chatBody())).status, 503);
  await new Promise((r) => setTimeout(r, 20));

  const r = await fetch(`${proxy.url}/metrics`);
  const text = await r.text();
  const chat = 'route="chat",gen_ai_request_model="llama2",llama2_format="ollama"';
  assert.equal(sample(text, 'express_ai_proxy_requests_total', `${chat},outcome="complete",status_class="2xx"`), 3);
  assert.equal(sample(text, 'express_ai_proxy_requests_total', `${chat},outcome="client_error",status_class="4xx"`), 1);
  // The route without a route_name is labelled with its route type.
  assert.equal(
    sample(
      text,
      'express_ai_proxy_requests_total',
      'route="llm/v1/chat",gen_ai_request_model="llama2",llama2_format="ollama",outcome="upstream_error",status_class="5xx"',
    ),
    1,
  );

  const base = 'route="chat",gen_ai_operation_name="chat",gen_ai_request_model="llama2"';
  assert.equal(sample(text, 'gen_ai_client_token_usage_count', `${base},gen_ai_token_type="input"`), 3);
  assert.equal(sample(text, 'gen_ai_client_token_usage_sum', `${base},gen_ai_token_type="input"`), 30);
  assert.equal(sample(text, 'gen_ai_client_token_usage_sum', `${base},gen_ai_token_type="output"`), 12);
  assert.equal(sample(text, 'gen_ai_client_token_usage_bucket', `le="16",${base},gen_ai_token_type="input"`), 3);
  assert.equal(sample(text, 'gen_ai_client_operation_duration_seconds_count', `${base},outcome="complete"`), 3);
  assert.equal(sample(text, 'gen_ai_client_operation_duration_seconds_count', `${base},outcome="client_error"`), 1);
  assert.equal(sample(text, 'gen_ai_server_time_to_first_token_seconds_count', base), 1);
  assert.equal(sample(text, 'gen_ai_server_time_per_output_token_seconds_count', base), 1);
  assert.ok(text.includes('# TYPE gen_ai_server_time_to_first_token_seconds histogram'));
  // 3 answers of 10 + 4 tokens at 1000 / 2000 per million.
  assert.ok(Math.abs(sample(text, 'express_ai_proxy_cost_total', 'route="chat",gen_ai_request_model="llama2"')! - (3 * (10 * 1000 + 4 * 2000)) / 1e6) < 1e-9);
  assert.equal(sample(text, 'express_ai_proxy_requests_in_flight', `route="chat",target="${ollama.url}"`), 0);
  // Only requests that went upstream have an upstream time; the 400 did not.
  assert.equal(sample(text, 'express_ai_proxy_upstream_duration_seconds_count', `route="chat",target="${ollama.url}"`), 3);
  assert.equal(sample(text, 'express_ai_proxy_overhead_seconds_count', 'route="chat"'), 3);
});

test('requests in flight are counted while they run', async () => {
  ollama.set({ fault: undefined, responseDelayMs: 200, tokens: undefined, chunkDelayMs: 0 });
  const pending = post(`${proxy.url}/chat`, chatBody());
  await ollama.nextRequest();
  assert.equal(sample(await register.metrics(), 'express_ai_proxy_requests_in_flight', `route="chat",target="${ollama.url}"`), 1);
  await pending;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sample(await register.metrics(), 'express_ai_proxy_requests_in_flight', `route="chat",target="${ollama.url}"`), 0);
});

test('one set of metrics per registry, however many routes ask', () => {
  assert.equal(aiProxyMetrics({ register }), aiProxyMetrics({ register }));
  assert.notEqual(aiProxyMetrics({ register: new Registry() }), aiProxyMetrics({ register }));
});

test('the config refuses anything but aiProxyMetrics() as observability.metrics', () => {
  assert.throws(
    () => aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { observability: { metrics: {} as never } })),
    /observability\.metrics must be the value of aiProxyMetrics\(\)/,
  );
});

test('the Grafana dashboard asks only for metrics and labels that exist', async () => {
  const dashboard = readFileSync(join(__dirname, '../../observability/grafana-dashboard.json'), 'utf8');
  const text = await register.metrics();
  const labels = ['route', 'gen_ai_request_model', 'gen_ai_token_type', 'outcome', 'llama2_format', 'target'];
  const names = new Set(
    [...dashboard.matchAll(/\b((?:gen_ai|express_ai_proxy)_[a-z_]+)/g)]
      .map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))
      .filter((n) => !labels.includes(n)),
  );
  assert.ok(names.size >= 8, [...names].join());
  for (const name of names) assert.ok(text.includes(`# TYPE ${name} `), `${name} is not exported`);
  for (const label of labels) {
    assert.ok(text.includes(`${label}="`), `no metric has the label ${label}`);
  }
});
