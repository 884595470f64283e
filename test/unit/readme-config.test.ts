/**
 * The README's config reference table is the one place users read the options: it must name every
 * option the code accepts, and nothing the code does not. The keys come from the code twice over:
 * at run time from the resolved configs (every option with a default), and at compile time from
 * the resolved and user-facing types (`Record<keyof …, true>` stops type-checking when a key is
 * added to a type but not here), so an option added anywhere fails this test until it has a row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig, type ResolvedConfig } from '../../lib/config';
import { validateBalancedConfig, type ResolvedBalancer } from '../../lib/balancer/config';
import type { BalancedAiProxyConfig, TargetConfig } from '../../lib/balancer/types';
import type { ResolvedObservability } from '../../lib/observability/config';
import type { AiProxyConfig, AuthConfig, ForwardHeadersConfig, LoggingConfig } from '../../lib/types';

const README = path.join(__dirname, '..', '..', 'README.md');

const TOP: Record<keyof ResolvedConfig, true> = {
  route_type: true,
  model: true,
  auth: true,
  logging: true,
  response_streaming: true,
  max_request_body_size: true,
  max_response_body_size: true,
  model_name_header: true,
  upstream_timeout: true,
  upstream_first_byte_timeout: true,
  upstream_total_timeout: true,
  client_write_timeout: true,
  agent: true,
  request_body_timeout: true,
  forward_headers: true,
  observability: true,
  client_model: true,
};
const MODEL: Record<keyof ResolvedConfig['model'], true> = { provider: true, name: true, options: true };
const OPTIONS: Record<keyof ResolvedConfig['model']['options'], true> = {
  llama2_format: true,
  upstream_url: true,
  raw_dialect: true,
  max_tokens: true,
  temperature: true,
  top_p: true,
  top_k: true,
  input_cost: true,
  output_cost: true,
  ollama: true,
};
const AUTH: Record<keyof AuthConfig, true> = {
  header_name: true,
  header_value: true,
  param_name: true,
  param_value: true,
  param_location: true,
  allow_override: true,
};
const LOGGING: Record<keyof LoggingConfig, true> = { log_statistics: true, log_payloads: true, on_statistics: true };
const OBSERVABILITY: Record<keyof ResolvedObservability, true> = { metrics: true, tracing: true, route_name: true, server_timing: true };
const FORWARD_HEADERS: Record<keyof ForwardHeadersConfig, true> = { allow: true, deny: true };
const TARGET: Record<keyof TargetConfig, true> = {
  name: true,
  model: true,
  auth: true,
  weight: true,
  priority: true,
  max_concurrency: true,
  health_check_path: true,
  agent: true,
};
const BALANCER: Record<keyof ResolvedBalancer, true> = {
  algorithm: true,
  retries: true,
  failover_criteria: true,
  retry_budget: true,
  connect_timeout: true,
  upstream_first_byte_timeout: true,
  upstream_timeout: true,
  upstream_total_timeout: true,
  hash_on: true,
  hash_on_header: true,
  hash_messages: true,
  latency_exploration: true,
  latency_decay: true,
  sse_keepalive_interval: true,
  circuit_breaker: true,
  health_checks: true,
  queue: true,
};
/** Kong's short form, folded into `model.options` before validation: a documented spelling, not a resolved key. */
const SHORT_FORM = ['model.llama2_format', 'model.upstream_url'];

const MODEL_CONFIG = { provider: 'llama2' as const, options: { llama2_format: 'ollama' as const, upstream_url: 'http://127.0.0.1:11434/api/chat' } };
const minimal: AiProxyConfig = { route_type: 'llm/v1/chat', model: MODEL_CONFIG };
const balanced: BalancedAiProxyConfig = { route_type: 'llm/v1/chat', targets: [{ model: MODEL_CONFIG }] };

/** Every option path the code knows, as the README's first column spells it. */
function documentedPaths(): string[] {
  const under = (prefix: string, keys: object) => Object.keys(keys).map((k) => `${prefix}${k}`);
  return [
    ...under('', TOP).filter((k) => !['model', 'auth', 'logging', 'observability', 'forward_headers'].includes(k)),
    ...under('model.', MODEL).filter((k) => k !== 'model.options'),
    ...under('model.options.', OPTIONS),
    ...under('auth.', AUTH),
    ...under('logging.', LOGGING),
    ...under('observability.', OBSERVABILITY),
    ...under('forward_headers.', FORWARD_HEADERS),
    'targets',
    ...under('targets[].', TARGET),
    ...under('balancer.', BALANCER),
  ];
}

/** The option names in the first column of the README's config reference table. */
function tableNames(): Set<string> {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf('\n## Config reference\n');
  assert.ok(start !== -1, 'README.md has a "## Config reference" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.slice(1, line.indexOf(' |', 1));
    for (const m of firstCell.matchAll(/`([^`]+)`/g)) names.add(m[1]!);
  }
  return names;
}

test('the lists here hold every key the code resolves (options with a default)', () => {
  const single = validateConfig(minimal);
  const { balancer } = validateBalancedConfig(balanced);
  const missing = (what: string, resolved: object, known: object) =>
    Object.keys(resolved)
      .filter((k) => !(k in known))
      .map((k) => `${what}${k}`);
  assert.deepEqual(
    [
      ...missing('', single, TOP),
      ...missing('model.', single.model, MODEL),
      ...missing('model.options.', single.model.options, OPTIONS),
      ...missing('auth.', single.auth, AUTH),
      ...missing('logging.', single.logging, LOGGING),
      ...missing('observability.', single.observability, OBSERVABILITY),
      ...missing('balancer.', balancer, BALANCER),
    ],
    [],
    'add the new keys to this test (and a row to the README config reference)',
  );
});

test('the README config reference table has a row for every option', () => {
  const names = tableNames();
  const absent = documentedPaths().filter((p) => !names.has(p));
  assert.deepEqual(absent, [], `README.md "## Config reference" has no row for: ${absent.join(', ')}`);
});

test('the README config reference table names no option the code does not have', () => {
  const known = new Set([...documentedPaths(), ...SHORT_FORM]);
  const unknown = [...tableNames()].filter((n) => !known.has(n));
  assert.deepEqual(unknown, [], `README.md "## Config reference" lists options the code does not know: ${unknown.join(', ')}`);
});

test('the defaults the table states are the ones the code fills in', () => {
  const resolved = validateConfig(minimal);
  const { balancer } = validateBalancedConfig(balanced);
  const rows = readFileSync(README, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| `'));
  const defaultOf = (name: string): string => {
    const row = rows.find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(row, `README.md has a row for ${name}`);
    return row.split(' | ')[2]!;
  };
  for (const key of [
    'max_request_body_size',
    'max_response_body_size',
    'upstream_timeout',
    'upstream_first_byte_timeout',
    'upstream_total_timeout',
    'client_write_timeout',
    'request_body_timeout',
  ] as const) {
    assert.match(defaultOf(key), new RegExp(`^\`${resolved[key]}\``), `the README's default of ${key}`);
  }
  for (const key of ['response_streaming', 'client_model'] as const) assert.equal(defaultOf(key), `\`'${resolved[key]}'\``, `the README's default of ${key}`);
  assert.equal(defaultOf('model_name_header'), `\`${resolved.model_name_header}\``);
  assert.equal(defaultOf('model.options.raw_dialect'), `\`'${resolved.model.options.raw_dialect}'\``);
  assert.equal(defaultOf('auth.allow_override'), `\`${resolved.auth.allow_override}\``);
  for (const key of ['retries', 'connect_timeout'] as const) {
    assert.equal(defaultOf(`balancer.${key}`), `\`${balancer[key]}\``, `the README's default of balancer.${key}`);
  }
  // These follow the route-level options; the README names the value and where it comes from.
  for (const key of ['upstream_first_byte_timeout', 'upstream_total_timeout'] as const) {
    assert.match(defaultOf(`balancer.${key}`), new RegExp(`^\`${balancer[key]}\``), `the README's default of balancer.${key}`);
  }
  assert.equal(defaultOf('balancer.algorithm'), `\`'${balancer.algorithm}'\``);
});
