/** The `targets` / `balancer` config: defaults, per-target resolution, health paths per format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBalancedConfig, AiProxyConfigError, type TargetConfig } from '../../lib';
import { defaultHealthPath } from '../../lib/balancer/health';
import { TargetRuntime } from '../../lib/balancer/target';

const t = (format: 'ollama' | 'raw' | 'openai', url: string, extra: Partial<TargetConfig> = {}): TargetConfig => ({
  model: { provider: 'llama2', name: 'llama2', options: { llama2_format: format, upstream_url: url } },
  ...extra,
});

test('defaults: round-robin, 2 retries, Kong-like failover criteria, generous first-byte limit, breaker on, checks off', () => {
  const { targets, balancer } = validateBalancedConfig({
    route_type: 'llm/v1/chat',
    targets: [t('ollama', 'http://a:11434/api/chat')],
    upstream_timeout: 5000,
  });
  assert.equal(balancer.algorithm, 'round-robin');
  assert.equal(balancer.retries, 2);
  assert.deepEqual(balancer.failover_criteria, ['error', 'timeout', 'http_429', 'http_500', 'http_502', 'http_503', 'http_504']);
  assert.equal(balancer.upstream_first_byte_timeout, 300_000);
  assert.equal(balancer.upstream_timeout, 5000, "the route's upstream_timeout is the idle limit unless the balancer sets one");
  assert.equal(balancer.circuit_breaker.enabled, true);
  assert.equal(balancer.health_checks.enabled, false);
  assert.equal(balancer.queue.max_concurrency, 0);
  assert.equal(targets[0]!.name, 'target-0');
  assert.equal(targets[0]!.weight, 100);
});

test('a target inherits route-wide fields and keeps its own model, auth and options', () => {
  const { targets } = validateBalancedConfig({
    route_type: 'llm/v1/completions',
    auth: { header_name: 'x-key', header_value: 'route' },
    max_request_body_size: 1000,
    targets: [
      t('raw', 'http://tgi/generate', { name: 'tgi' }),
      { ...t('openai', 'http://o/v1/chat/completions', { auth: { header_name: 'x-key', header_value: 'own' } }), weight: 7 },
    ],
    balancer: { queue: { max_concurrency: 3 } },
  });
  assert.equal(targets[0]!.config.route_type, 'llm/v1/completions');
  assert.equal(targets[0]!.config.auth.header_value, 'route');
  assert.equal(targets[1]!.config.auth.header_value, 'own');
  assert.equal(targets[1]!.config.max_request_body_size, 1000);
  assert.equal(targets[1]!.weight, 7);
  assert.equal(targets[0]!.max_concurrency, 3, 'the queue default applies to targets without their own limit');
});

test('model next to targets, duplicate names, an empty list: named problems', () => {
  const bad = (config: unknown) => {
    try {
      validateBalancedConfig(config as never);
    } catch (err) {
      assert.ok(err instanceof AiProxyConfigError);
      return err.details.map((d) => d.path);
    }
    assert.fail('expected a config error');
  };
  assert.ok(bad({ route_type: 'llm/v1/chat', targets: [] }).includes('targets'));
  assert.ok(bad({ route_type: 'llm/v1/chat', model: { provider: 'llama2' }, targets: [t('ollama', 'http://a/api/chat')] }).includes('model'));
  assert.ok(
    bad({ route_type: 'llm/v1/chat', targets: [t('ollama', 'http://a/api/chat', { name: 'x' }), t('ollama', 'http://b/api/chat', { name: 'x' })] }).includes(
      'targets.1.name',
    ),
  );
  assert.ok(
    bad({ route_type: 'llm/v1/chat', targets: [t('ollama', 'http://a/api/chat')], balancer: { circuit_breaker: { failure_rate: 2 } } }).includes(
      'balancer.circuit_breaker.failure_rate',
    ),
  );
});

test('health check paths per format: Ollama /api/tags, llama.cpp and TGI /health, OpenAI-compatible /v1/models under its prefix', () => {
  const { targets, balancer } = validateBalancedConfig({
    route_type: 'llm/v1/chat',
    targets: [
      t('ollama', 'http://a/api/chat'),
      t('raw', 'http://b/completion'),
      t('openai', 'http://c/v1/chat/completions'),
      t('openai', 'http://d/vllm/v1/chat/completions'),
    ],
  });
  assert.deepEqual(
    targets.map((x) => defaultHealthPath(new TargetRuntime(x, balancer))),
    ['/api/tags', '/health', '/v1/models', '/vllm/v1/models'],
  );
});
