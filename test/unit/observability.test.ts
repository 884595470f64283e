import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AiProxyConfigError, validateConfig } from '../../lib';
import { BoundedLabel } from '../../lib/observability/bounded-labels';
import { loadPeer } from '../../lib/observability/peer';
import { outcomeOf } from '../../lib/observability/outcome';
import { LastHit } from '../../lib/observability/last-hit';
import { requestIdOf } from '../../lib/observability/request-id';
import { serverTiming } from '../../lib/observability/server-timing';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids made by the proxy: UUID-shaped and never twice the same', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = requestIdOf({});
    assert.match(id, UUID);
    assert.ok(!seen.has(id), id);
    seen.add(id);
  }
});

test('request ids made by the proxy do not count: consecutive ones do not tell how many requests came between', () => {
  const tails = Array.from({ length: 100 }, () => parseInt(requestIdOf({}).slice(24), 16));
  for (let i = 1; i < tails.length; i++) assert.notEqual(Math.abs(tails[i]! - tails[i - 1]!), 1, `ids ${i - 1} and ${i} are consecutive numbers`);
});

test('request ids: safe ones kept, others replaced by a UUID', () => {
  assert.equal(requestIdOf({ 'x-request-id': 'abc-123_X.y:z@h/+=' }), 'abc-123_X.y:z@h/+=');
  assert.equal(requestIdOf({ 'x-request-id': 'x'.repeat(128) }), 'x'.repeat(128));
  for (const bad of ['', 'x'.repeat(129), 'a b', 'a\tb', 'a,b', 'é', '<script>', 'a;b']) assert.match(requestIdOf({ 'x-request-id': bad }), UUID, bad);
  assert.match(requestIdOf({}), UUID);
  assert.notEqual(requestIdOf({}), requestIdOf({}));
  // An id an app middleware already put on the response is used when the client sent none.
  assert.equal(requestIdOf({}, 'app-id-1'), 'app-id-1');
  assert.equal(requestIdOf({ 'x-request-id': 'client' }, 'app-id-1'), 'client');
  assert.match(requestIdOf({}, ['a', 'b']), UUID);
});

test('request id check is linear on long hostile input', () => {
  const started = performance.now();
  for (let i = 0; i < 100; i++) requestIdOf({ 'x-request-id': 'a'.repeat(100_000) + '!' });
  assert.ok(performance.now() - started < 500);
});

test('outcomes', () => {
  const base = { status: 200, refused: false, clientGone: false, timedOut: false };
  assert.equal(outcomeOf(base), 'complete');
  assert.equal(outcomeOf({ ...base, finishReason: 'stop' }), 'complete');
  assert.equal(outcomeOf({ ...base, finishReason: 'length' }), 'length');
  assert.equal(outcomeOf({ ...base, finishReason: 'tool_calls' }), 'tool_calls');
  assert.equal(outcomeOf({ ...base, finishReason: 'function_call' }), 'tool_calls');
  assert.equal(outcomeOf({ ...base, finishReason: 'content_filter' }), 'content_filter');
  assert.equal(outcomeOf({ ...base, status: 400, refused: true }), 'client_error');
  assert.equal(outcomeOf({ ...base, status: 500, refused: true }), 'internal_error');
  assert.equal(outcomeOf({ ...base, status: 404 }), 'upstream_error');
  assert.equal(outcomeOf({ ...base, status: 502 }), 'upstream_error');
  assert.equal(outcomeOf({ ...base, streamEnd: 'error' }), 'upstream_error');
  assert.equal(outcomeOf({ ...base, streamEnd: 'truncated' }), 'truncated');
  assert.equal(outcomeOf({ ...base, streamEnd: 'error', upstreamCut: true }), 'truncated');
  assert.equal(outcomeOf({ ...base, status: 504, timedOut: true }), 'timeout');
  // The client leaving wins over whatever it caused upstream.
  assert.equal(outcomeOf({ ...base, clientGone: true, upstreamCut: true, timedOut: true }), 'aborted');
  assert.equal(outcomeOf({ ...base, status: 400, refused: true, clientGone: true }), 'aborted');
});

test('Server-Timing values', () => {
  assert.equal(serverTiming({ startedAt: 100 }, 101.5), 'aiproxy;dur=1.50');
  assert.equal(serverTiming({ startedAt: 100, upstreamSentAt: 101, upstreamEndAt: 151 }, 152), 'aiproxy;dur=2.00, upstream;dur=50.00');
  assert.equal(serverTiming({ startedAt: 100, upstreamSentAt: 101, upstreamHeadersAt: 111 }, 112), 'aiproxy;dur=2.00, upstream;dur=10.00;desc="headers"');
  assert.equal(serverTiming({ startedAt: 100 }, 100), 'aiproxy;dur=0');
});

test('bounded labels: the first values are kept, the rest become _other', () => {
  const label = new BoundedLabel(2);
  assert.deepEqual(
    ['a', 'b', 'a', 'c', 'b', 'd'].map((v) => label.value(v)),
    ['a', 'b', 'a', '_other', 'b', '_other'],
  );
  assert.equal(new BoundedLabel().value('m'.repeat(101)), '_other');
});

test('a missing optional peer is named with the command that installs it', () => {
  assert.throws(() => loadPeer('express-ai-proxy-no-such-peer', 'observability.tracing'), {
    message: 'observability.tracing needs the optional peer dependency "express-ai-proxy-no-such-peer": npm install express-ai-proxy-no-such-peer',
  });
  // The loader's own error stays attached, for whoever debugs a broken install.
  assert.throws(
    () => loadPeer('express-ai-proxy-no-such-peer', 'observability.tracing'),
    (err: Error) => (err.cause as { code?: string } | undefined)?.code === 'MODULE_NOT_FOUND',
  );
});

test('observability config: defaults and problems named by path', () => {
  const base = {
    route_type: 'llm/v1/chat' as const,
    model: { provider: 'llama2' as const, options: { llama2_format: 'ollama' as const, upstream_url: 'http://127.0.0.1:11434/api/chat' } },
  };
  assert.deepEqual(validateConfig(base).observability, { tracing: false, server_timing: true });
  assert.deepEqual(validateConfig({ ...base, observability: { route_name: 'chat', server_timing: false } }).observability, {
    route_name: 'chat',
    server_timing: false,
    tracing: false,
  });
  assert.throws(
    () => validateConfig({ ...base, observability: { tracing: 'yes' as never, route_name: '', metrics: 1 as never, extra: true } as never }),
    (err: AiProxyConfigError) => {
      assert.deepEqual(err.details.map((d) => d.path).sort(), [
        'observability.extra',
        'observability.metrics',
        'observability.route_name',
        'observability.tracing',
      ]);
      return true;
    },
  );
});

test('label combinations never share a cached value, whatever characters a client puts in its model name', () => {
  const cache = new LastHit((a, b, c: string, d) => [a, b, c, d].join('|'), 10);
  assert.equal(cache.get('a\0b', 'c', 'x', ''), 'a\0b|c|x|');
  assert.equal(cache.get('a', 'b\0c', 'x', ''), 'a|b\0c|x|');
  assert.equal(cache.get('a\0b', 'c', 'x', ''), 'a\0b|c|x|');
  assert.equal(cache.get('1:a', 'b', 'x', ''), '1:a|b|x|');
  assert.equal(cache.get('1', 'a', 'b', 'x'), '1|a|b|x');
});
