import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, type ResolvedConfig } from '../../lib/config';
import { AiProxyConfigError } from '../../lib/errors';
import { droppedHeaders, NEVER_FORWARDED } from '../../lib/headers/upstream-headers';
import type { AiProxyConfig } from '../../lib/types';

function resolved(extra: Partial<AiProxyConfig> = {}): ResolvedConfig {
  return validateConfig({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat' } },
    ...extra,
  });
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const FRAMING = ['content-length', 'content-encoding'];

describe('droppedHeaders: the default policy', () => {
  test('hop-by-hop (RFC 9110 §7.6.1) and body framing are always dropped', () => {
    const drop = droppedHeaders(resolved());
    for (const h of [...HOP_BY_HOP, ...FRAMING]) assert.ok(drop.has(h), h);
  });

  test('Cookie is dropped; Authorization goes through on a route without auth', () => {
    const drop = droppedHeaders(resolved());
    assert.ok(drop.has('cookie'));
    assert.ok(!drop.has('authorization'));
  });

  test("a route with header auth drops the client's Authorization", () => {
    assert.ok(droppedHeaders(resolved({ auth: { header_name: 'X-Api-Key', header_value: 'k' } })).has('authorization'));
  });

  test('a route with query or body auth drops it too', () => {
    assert.ok(droppedHeaders(resolved({ auth: { param_name: 'key', param_value: 'k', param_location: 'query' } })).has('authorization'));
  });

  test("unless the route's auth header is Authorization and the client may override it", () => {
    assert.ok(!droppedHeaders(resolved({ auth: { header_name: 'Authorization', header_value: 'Bearer k', allow_override: true } })).has('authorization'));
  });

  test('ordinary headers go through', () => {
    const drop = droppedHeaders(resolved({ auth: { header_name: 'Authorization', header_value: 'Bearer k' } }));
    for (const h of ['user-agent', 'accept', 'x-request-id', 'traceparent', 'openai-organization']) assert.ok(!drop.has(h), h);
  });
});

describe('droppedHeaders: forward_headers', () => {
  test('allow lifts the default drops, case-insensitively', () => {
    const drop = droppedHeaders(resolved({ auth: { header_name: 'X-Api-Key', header_value: 'k' }, forward_headers: { allow: ['Cookie', 'AUTHORIZATION'] } }));
    assert.ok(!drop.has('cookie'));
    assert.ok(!drop.has('authorization'));
  });

  test('deny adds names, and wins over allow', () => {
    const drop = droppedHeaders(resolved({ forward_headers: { allow: ['cookie'], deny: ['X-Internal-Token', 'cookie'] } }));
    assert.ok(drop.has('x-internal-token'));
    assert.ok(drop.has('cookie'));
  });

  for (const h of [...NEVER_FORWARDED, 'Transfer-Encoding']) {
    test(`allow cannot list ${h}`, () => {
      assert.throws(
        () => resolved({ forward_headers: { allow: [h] } }),
        (err: unknown) =>
          err instanceof AiProxyConfigError && err.details[0]!.path === 'forward_headers.allow.0' && /never go upstream/.test(err.details[0]!.message),
      );
    });
  }

  test('names must be header names; unknown keys are refused', () => {
    assert.throws(
      () => resolved({ forward_headers: { deny: ['bad header'], only: [] } as never }),
      (err: unknown) => err instanceof AiProxyConfigError && err.details.map((d) => d.path).join() === 'forward_headers.deny.0,forward_headers.only',
    );
  });

  test('request_body_timeout must be a positive integer', () => {
    for (const v of [0, -1, 1.5, '1000']) assert.throws(() => resolved({ request_body_timeout: v as number }), AiProxyConfigError);
    assert.equal(resolved().request_body_timeout, 30_000);
  });
});
