import type { Agent as HttpAgent } from 'node:http';
import type { AiProxyConfig, AuthConfig, ModelConfig } from '../types';
import type { AiProxyMiddleware } from '../ai-proxy';

/** The balancing rule of a route with several targets. */
export type BalancerAlgorithm = 'round-robin' | 'least-connections' | 'lowest-latency' | 'consistent-hashing' | 'priority';

/**
 * What makes a failed attempt move on to another target (Kong's `failover_criteria`). Client
 * errors (400, 401, 413, 422) never do: another server would refuse the same request.
 */
export type FailoverCriterion = 'error' | 'timeout' | 'http_429' | 'http_500' | 'http_502' | 'http_503' | 'http_504' | 'http_403' | 'http_404';

/** One model server of a route: a full model config plus its share of the traffic. */
export interface TargetConfig {
  /**
   * Name shown in the `X-AI-Proxy-Target` header, statistics and logs (letters, digits, `._-`).
   * Defaults to `target-<index>`; never derived from the URL, which may hold credentials.
   */
  name?: string;
  /** The model, as in a single-upstream config (`llama2_format`, `upstream_url`, `name`, options). */
  model: ModelConfig;
  /** Credentials for this target. Defaults to the route's `auth`. */
  auth?: AuthConfig;
  /** Share of the traffic, 1..65535. Defaults to 100. */
  weight?: number;
  /** Priority group for the `priority` algorithm: lower numbers serve first. Defaults to 0. */
  priority?: number;
  /** Requests this target serves at once (e.g. a llama.cpp server's slots); more wait in the queue. Defaults to `balancer.queue.max_concurrency`. */
  max_concurrency?: number;
  /** Path the health check GETs. Defaults per format: `/api/tags` (ollama), `/health` (raw), `/v1/models` (openai). */
  health_check_path?: string;
  /** Agent for this target's connections. Defaults to the route's `agent`, else the shared keep-alive agent. */
  agent?: HttpAgent;
}

/** Circuit breaker settings, per target. */
export interface CircuitBreakerConfig {
  /** Defaults to true. */
  enabled?: boolean;
  /** Consecutive failures that open it. Defaults to 5. */
  consecutive_failures?: number;
  /** Failure share (0..1] over the last `window` requests that opens it once `min_requests` were seen. Defaults to 0.5. */
  failure_rate?: number;
  /** Defaults to 20. */
  min_requests?: number;
  /** Defaults to 50. */
  window?: number;
  /** Milliseconds open before one probe request is let through. Defaults to 30000. */
  cooldown?: number;
}

/** Active health checks (off by default). */
export interface HealthCheckConfig {
  /** Defaults to false. */
  enabled?: boolean;
  /** Milliseconds between checks of a target. Defaults to 10000. */
  interval?: number;
  /** Milliseconds a check may take. Defaults to 2000. */
  timeout?: number;
  /** Failed checks in a row that take a target out. Defaults to 2. */
  unhealthy_threshold?: number;
  /** Passed checks in a row that bring it back. Defaults to 1. */
  healthy_threshold?: number;
}

/** Per-target concurrency limit and its waiting queue. */
export interface QueueConfig {
  /** Requests a target serves at once unless the target sets its own; 0 = unlimited. Defaults to 0. */
  max_concurrency?: number;
  /** Requests that may wait per target. Defaults to 100. */
  max_length?: number;
  /** Milliseconds a request may wait for a slot before trying another target. Defaults to 30000. */
  max_wait?: number;
}

/** How a route with several targets spreads requests and survives failures (Kong AI Proxy Advanced's `balancer`). */
export interface BalancerConfig {
  /** Defaults to `round-robin` (weighted). */
  algorithm?: BalancerAlgorithm;
  /** Further attempts after the first, on other targets while there are untried ones. Defaults to 2. */
  retries?: number;
  /** Defaults to error, timeout, http_429, http_500, http_502, http_503, http_504. */
  failover_criteria?: FailoverCriterion[];
  /** Milliseconds after which no new attempt starts (the per-request retry budget). Defaults to none (only `retries` and `upstream_total_timeout` bound it). */
  retry_budget?: number;
  /** Milliseconds to open a connection. Defaults to 10000. */
  connect_timeout?: number;
  /** Milliseconds to the upstream's answer headers (cold model loads take minutes). Defaults to the route's `upstream_first_byte_timeout` (300000). */
  upstream_first_byte_timeout?: number;
  /** Milliseconds without a byte once the answer began. Defaults to the route's `upstream_timeout` (60000). */
  upstream_timeout?: number;
  /** Milliseconds for the whole request, all attempts and queueing included. Defaults to the route's `upstream_total_timeout` (1800000). */
  upstream_total_timeout?: number;
  /** consistent-hashing: `header` (the value of `hash_on_header`) or `messages` (the conversation's first messages). Defaults to `messages`. */
  hash_on?: 'header' | 'messages';
  /** consistent-hashing: header name when `hash_on` is `header`, e.g. `x-session-id`. */
  hash_on_header?: string;
  /** consistent-hashing on `messages`: how many leading messages make the key. Defaults to 2. */
  hash_messages?: number;
  /** lowest-latency: share of requests sent elsewhere to keep every target's figure fresh (0..0.5). Defaults to 0.05. */
  latency_exploration?: number;
  /** lowest-latency: time constant of the moving average, ms. Defaults to 10000. */
  latency_decay?: number;
  /** Send an SSE comment every this many ms while a streamed request waits for its first token. Defaults to off. */
  sse_keepalive_interval?: number;
  circuit_breaker?: CircuitBreakerConfig;
  health_checks?: HealthCheckConfig;
  queue?: QueueConfig;
}

/** A route served by several model servers: `targets` instead of `model`, plus a `balancer` section. */
export interface BalancedAiProxyConfig extends Omit<AiProxyConfig, 'model'> {
  targets: TargetConfig[];
  balancer?: BalancerConfig;
}

/** The middleware of a route with targets; `close()` stops its health checks and empties its queues. */
export interface BalancedAiProxyMiddleware extends AiProxyMiddleware {
  close(this: void): void;
}
