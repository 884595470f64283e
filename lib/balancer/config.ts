import Joi from 'joi';
import { validateConfig, type ResolvedConfig } from '../config';
import { AiProxyConfigError, type ConfigProblem } from '../errors';
import type { BreakerOptions } from './breaker';
import type { BalancerAlgorithm, BalancedAiProxyConfig, FailoverCriterion } from './types';

/** One target after validation: its own single-upstream config plus its balancing fields. */
export interface ResolvedTarget {
  name: string;
  index: number;
  config: ResolvedConfig;
  weight: number;
  priority: number;
  max_concurrency: number;
  health_check_path: string | undefined;
}

/** The balancer section with every default filled in. */
export interface ResolvedBalancer {
  algorithm: BalancerAlgorithm;
  retries: number;
  failover_criteria: FailoverCriterion[];
  retry_budget: number | undefined;
  connect_timeout: number;
  upstream_first_byte_timeout: number;
  upstream_timeout: number;
  upstream_total_timeout: number;
  hash_on: 'header' | 'messages';
  hash_on_header: string | undefined;
  hash_messages: number;
  latency_exploration: number;
  latency_decay: number;
  sse_keepalive_interval: number | undefined;
  circuit_breaker: BreakerOptions & { enabled: boolean };
  health_checks: { enabled: boolean; interval: number; timeout: number; unhealthy_threshold: number; healthy_threshold: number };
  queue: { max_concurrency: number; max_length: number; max_wait: number };
}

export interface ResolvedBalancedConfig {
  targets: ResolvedTarget[];
  balancer: ResolvedBalancer;
}

const criteria: FailoverCriterion[] = ['error', 'timeout', 'http_429', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404'];
const ms = () => Joi.number().integer().greater(0);
const headerName = () =>
  Joi.string()
    .min(1)
    .pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'HTTP header name');

const balancerSchema = Joi.object({
  algorithm: Joi.string().valid('round-robin', 'least-connections', 'lowest-latency', 'consistent-hashing', 'priority').default('round-robin'),
  retries: Joi.number().integer().min(0).max(20).default(2),
  failover_criteria: Joi.array()
    .items(Joi.string().valid(...criteria))
    .unique()
    .default(['error', 'timeout', 'http_429', 'http_500', 'http_502', 'http_503', 'http_504']),
  retry_budget: ms(),
  connect_timeout: ms().default(10_000),
  upstream_first_byte_timeout: ms(),
  upstream_timeout: ms(),
  upstream_total_timeout: ms(),
  hash_on: Joi.string().valid('header', 'messages').default('messages'),
  hash_on_header: headerName().when('hash_on', { is: 'header', then: Joi.required() }),
  hash_messages: Joi.number().integer().min(1).max(100).default(2),
  latency_exploration: Joi.number().min(0).max(0.5).default(0.05),
  latency_decay: ms().default(10_000),
  sse_keepalive_interval: ms(),
  circuit_breaker: Joi.object({
    enabled: Joi.boolean().default(true),
    consecutive_failures: Joi.number().integer().min(1).default(5),
    failure_rate: Joi.number().greater(0).max(1).default(0.5),
    min_requests: Joi.number().integer().min(1).default(20),
    window: Joi.number().integer().min(1).default(50),
    cooldown: ms().default(30_000),
  }).default(),
  health_checks: Joi.object({
    enabled: Joi.boolean().default(false),
    interval: ms().default(10_000),
    timeout: ms().default(2_000),
    unhealthy_threshold: Joi.number().integer().min(1).default(2),
    healthy_threshold: Joi.number().integer().min(1).default(1),
  }).default(),
  queue: Joi.object({
    max_concurrency: Joi.number().integer().min(0).default(0),
    max_length: Joi.number().integer().min(0).default(100),
    max_wait: ms().default(30_000),
  }).default(),
}).default();

// The model/auth/agent of a target are checked by the single-upstream schema, with its messages.
const targetSchema = Joi.object({
  name: Joi.string()
    .min(1)
    .max(64)
    .pattern(/^[A-Za-z0-9._-]+$/, 'target name (letters, digits, ".", "_", "-")'),
  model: Joi.any().required(),
  auth: Joi.any(),
  agent: Joi.any(),
  weight: Joi.number().integer().min(1).max(65535).default(100),
  priority: Joi.number().integer().min(0).default(0),
  max_concurrency: Joi.number().integer().min(0),
  health_check_path: Joi.string().pattern(/^\/[^\s]*$/, 'path starting with "/"'),
});

const sectionSchema = Joi.object({
  targets: Joi.array().items(targetSchema).min(1).required(),
  balancer: balancerSchema,
}).unknown(true);

/** True when a config names `targets` (the multi-target form). */
export function isBalancedConfig(config: unknown): config is BalancedAiProxyConfig {
  return typeof config === 'object' && config !== null && 'targets' in config;
}

/**
 * Validates a config with `targets`: the balancer section and each target's balancing fields here,
 * each target's model and auth by the single-upstream rules (as if it were a route of its own).
 * Every problem is listed, named by path (`targets.1.model.options.upstream_url`).
 */
export function validateBalancedConfig(config: BalancedAiProxyConfig): ResolvedBalancedConfig {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (p: ConfigProblem) => {
    if (seen.has(p.path + p.message)) return;
    seen.add(p.path + p.message);
    problems.push(p);
  };
  const result = sectionSchema.validate(config, { abortEarly: false, convert: false });
  const error = result.error;
  const value: unknown = result.value;
  for (const d of error?.details ?? []) {
    const path = d.path.join('.') || '(config)';
    add({ path, message: `${path} ${d.message.replace(/^"[^"]*" /, '')}` });
  }
  const { targets: rawTargets, balancer: _b, model, ...rest } = config as BalancedAiProxyConfig & { model?: unknown };
  if (model !== undefined) add({ path: 'model', message: 'model and targets are exclusive: put each model in its target' });
  const targets: ResolvedTarget[] = [];
  const names = new Set<string>();
  (Array.isArray(rawTargets) ? rawTargets : []).forEach((t, index) => {
    if (typeof t !== 'object' || t === null) return;
    const name = t.name ?? `target-${index}`;
    if (names.has(name)) add({ path: `targets.${index}.name`, message: `targets.${index}.name "${name}" is used by another target` });
    names.add(name);
    let resolved: ResolvedConfig;
    try {
      resolved = validateConfig({ ...rest, model: t.model, auth: t.auth ?? rest.auth, agent: t.agent ?? rest.agent });
    } catch (err) {
      if (!(err instanceof AiProxyConfigError)) throw err;
      for (const d of err.details) {
        // Route-wide fields are reported once, target fields under the target.
        const own = d.path.startsWith('model') || (t.auth !== undefined && d.path.startsWith('auth')) || (t.agent !== undefined && d.path === 'agent');
        add(own ? { path: `targets.${index}.${d.path}`, message: `targets.${index}.${d.message}` } : d);
      }
      return;
    }
    const v = (value as { targets?: Array<Record<string, unknown>> } | undefined)?.targets?.[index] ?? {};
    targets.push({
      name,
      index,
      config: resolved,
      weight: (v.weight as number | undefined) ?? 100,
      priority: (v.priority as number | undefined) ?? 0,
      max_concurrency: (v.max_concurrency as number | undefined) ?? -1,
      health_check_path: t.health_check_path,
    });
  });
  if (problems.length > 0) throw new AiProxyConfigError(problems);
  const balancer = (value as { balancer: ResolvedBalancer }).balancer;
  // Unset in the balancer section, a limit is the route's (with the single route's defaults).
  const first = targets[0]!.config;
  balancer.upstream_timeout ??= first.upstream_timeout;
  balancer.upstream_first_byte_timeout ??= first.upstream_first_byte_timeout;
  balancer.upstream_total_timeout ??= first.upstream_total_timeout;
  for (const t of targets) {
    if (t.max_concurrency < 0) t.max_concurrency = balancer.queue.max_concurrency;
    // The relays name the limit that ended an answer from the target's config: the balancer's limits.
    t.config.upstream_timeout = balancer.upstream_timeout;
    t.config.upstream_first_byte_timeout = balancer.upstream_first_byte_timeout;
    t.config.upstream_total_timeout = balancer.upstream_total_timeout;
  }
  return { targets, balancer };
}
