/**
 * `logging.log_statistics`: one report per answered request, with the upstream's token counts,
 * for JSON and streamed answers alike; a throwing hook never breaks an answer; and nothing logged
 * through `debug` ever carries the configured secrets.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import createDebug from 'debug';
import { aiProxy, type ProxyStatistics } from '../../lib';
import { post, sseData } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama, startOpenAi } from '../support/upstreams';

const HEADER_SECRET = 'Bearer sk-stats-5a4b3c2d1e';
const PARAM_SECRET = 'pk-stats-0f9e8d7c';

let ollama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;
const reports: ProxyStatistics[] = [];
const logLines: string[] = [];
const originalLog = createDebug.log;

before(async () => {
  // Everything express-ai-proxy logs, captured instead of printed.
  createDebug.enable('express-ai-proxy:*');
  createDebug.log = (...args: unknown[]) => void logLines.push(args.map(String).join(' '));
  ollama = await startOllama();
  openai = await startOpenAi();
  const upstream = `${ollama.url}/api/chat`;
  proxy = await startApp((app) => {
    app.use(
      '/stats',
      aiProxy(
        llama2Config('chat', 'ollama', upstream, {
          options: { input_cost: 2, output_cost: 6 },
          auth: {
            header_name: 'Authorization',
            header_value: HEADER_SECRET,
            param_name: 'api_key',
            param_value: PARAM_SECRET,
            param_location: 'body',
            allow_override: true,
          },
          logging: { log_statistics: true, log_payloads: true, on_statistics: (s) => void reports.push(s) },
        }),
      ),
    );
    app.use(
      '/throwing-hook',
      aiProxy(
        llama2Config('chat', 'ollama', upstream, {
          logging: {
            log_statistics: true,
            on_statistics: () => {
              throw new Error('hook failed');
            },
          },
        }),
      ),
    );
    app.use(
      '/openai-stats',
      aiProxy(
        llama2Config('chat', 'openai', `${openai.url}/v1/chat/completions`, { logging: { log_statistics: true, on_statistics: (s) => void reports.push(s) } }),
      ),
    );
    app.use('/quiet', aiProxy(llama2Config('chat', 'ollama', upstream, { logging: { on_statistics: (s) => void reports.push(s) } })));
  });
});

after(async () => {
  createDebug.log = originalLog;
  createDebug.disable();
  await proxy.close();
  await ollama.close();
  await openai.close();
});

beforeEach(() => {
  reports.length = 0;
  ollama.reset();
});

/** Reports arrive when the answer has been written; give the event loop a turn. */
async function nextReports(n: number): Promise<ProxyStatistics[]> {
  for (let i = 0; i < 50 && reports.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return reports.slice();
}

describe('statistics', () => {
  test('a JSON answer: token counts, cost, latency and payloads', async () => {
    ollama.set({ promptTokens: 12, completionTokens: 7 });
    const r = await post(`${proxy.url}/stats`, chatBody({ api_key: 'client-own-key' }));
    assert.equal(r.status, 200);
    const [s, extra] = await nextReports(1);
    assert.equal(extra, undefined);
    assert.ok(s);
    const { request_id, upstream_latency_ms, target, ...rest } = s;
    assert.match(request_id, /^[0-9a-f-]{36}$/);
    assert.equal(target, ollama.url);
    assert.ok(upstream_latency_ms !== undefined && upstream_latency_ms <= s.latency_ms + 1);
    assert.deepEqual(
      { ...rest, latency_ms: 0, request_payload: undefined, response_payload: undefined },
      {
        route_type: 'llm/v1/chat',
        provider: 'llama2',
        model: 'llama2',
        llama2_format: 'ollama',
        streamed: false,
        status: 200,
        prompt_tokens: 12,
        completion_tokens: 7,
        total_tokens: 19,
        cost: (12 * 2 + 7 * 6) / 1e6,
        latency_ms: 0,
        request_payload: undefined,
        response_payload: undefined,
        outcome: 'complete',
        finish_reason: 'stop',
        upstream_status: 200,
        usage_source: 'upstream',
      },
    );
    assert.ok(s.latency_ms >= 0 && s.latency_ms < 5000);
    // The client's body minus the auth parameter (a secret, even the client's own).
    assert.deepEqual(JSON.parse(s.request_payload!), chatBody());
    assert.equal(s.response_payload, r.text);
  });

  test('a streamed answer reports the usage the stream carried', async () => {
    ollama.set({ promptTokens: 21, completionTokens: 5 });
    const r = await post(`${proxy.url}/stats`, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.equal(sseData(r.text).at(-1), '[DONE]');
    const [s] = await nextReports(1);
    assert.ok(s);
    assert.equal(s.streamed, true);
    assert.equal(s.status, 200);
    assert.deepEqual([s.prompt_tokens, s.completion_tokens, s.total_tokens], [21, 5, 26]);
    assert.equal(s.response_payload, undefined);
  });

  test('openai format, streamed without include_usage: the upstream is asked for usage, the client does not see it', async () => {
    openai.reset();
    openai.set({ promptTokens: 17, completionTokens: 4 });
    const r = await post(`${proxy.url}/openai-stats`, chatBody({ stream: true }));
    assert.equal(r.status, 200);
    assert.deepEqual(openai.last()?.body.stream_options, { include_usage: true });
    const frames = sseData(r.text);
    assert.equal(frames.at(-1), '[DONE]');
    for (const f of frames.slice(0, -1)) assert.ok(!('usage' in f), `usage reached the client: ${JSON.stringify(f)}`);
    const [s] = await nextReports(1);
    assert.ok(s);
    assert.deepEqual([s.streamed, s.prompt_tokens, s.completion_tokens], [true, 17, 4]);
  });

  test('an upstream error is reported with its status', async () => {
    ollama.set({ fault: { kind: 'status', status: 503, body: { error: 'overloaded' } } });
    const r = await post(`${proxy.url}/stats`, chatBody());
    assert.equal(r.status, 503);
    const [s] = await nextReports(1);
    assert.ok(s);
    assert.equal(s.status, 503);
    assert.equal(s.total_tokens, 0);
  });

  test('a throwing on_statistics hook does not break the answer', async () => {
    const r = await post(`${proxy.url}/throwing-hook`, chatBody());
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
  });

  test('nothing is reported unless log_statistics is on', async () => {
    const r = await post(`${proxy.url}/quiet`, chatBody());
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(reports.length, 0);
  });

  test('no log line carries a secret, whatever happened', async () => {
    await post(`${proxy.url}/stats`, chatBody());
    await post(`${proxy.url}/stats`, chatBody({ stream: true }));
    await post(`${proxy.url}/stats`, { messages: 'bad' });
    ollama.set({ fault: { kind: 'reset' } });
    await post(`${proxy.url}/stats`, chatBody());
    assert.ok(logLines.length > 3, 'express-ai-proxy logged nothing: the capture is not working');
    for (const line of logLines) {
      assert.ok(!line.includes(HEADER_SECRET) && !line.includes(PARAM_SECRET), `secret in log line: ${line}`);
    }
  });
});
