import type { IncomingMessage } from 'node:http';
import type { ProxyStatistics } from '../types';

/**
 * How one request ended, in `ProxyStatistics.outcome`, metric labels and span attributes.
 * - `complete`, `length`, `tool_calls`, `content_filter`: answered; the answer's `finish_reason`
 *   (`stop` is `complete`, and so is an answer without one).
 * - `client_error`: refused by the proxy itself (400, 413) before anything went upstream.
 * - `upstream_error`: the upstream answered non-2xx, reported an error inside its stream, sent
 *   something unreadable, or could not be reached.
 * - `timeout`: `upstream_timeout` passed without a byte from the upstream.
 * - `aborted`: the client went away before its answer was complete.
 * - `truncated`: the upstream's stream stopped (ended or lost its connection) before its final event.
 * - `internal_error`: a bug in the proxy (answered 500).
 */
export type AiProxyOutcome =
  'complete' | 'length' | 'tool_calls' | 'content_filter' | 'client_error' | 'upstream_error' | 'timeout' | 'aborted' | 'truncated' | 'internal_error';

/** Outcomes that are an answer (what the GenAI conventions call a successful response). */
export const ANSWERED: ReadonlySet<AiProxyOutcome> = new Set(['complete', 'length', 'tool_calls', 'content_filter']);

/** The route a request belongs to, as observers see it (fixed per mounted route). */
export interface RouteInfo {
  /** `observability.route_name`, or the route type. */
  route: string;
  route_type: ProxyStatistics['route_type'];
  llama2_format: ProxyStatistics['llama2_format'];
  /** GenAI operation name: `chat` or `text_completion`. */
  operation: 'chat' | 'text_completion';
  /** The model configured for the route, if any (the request names it otherwise). */
  configured_model: string | undefined;
  /** The upstream's origin (scheme, host, port; never a path, query or credentials). */
  target: string;
  server_address: string;
  server_port: number;
}

/** Exact timings of one request, in milliseconds of `performance.now()` (statistics carry them rounded). */
export interface RequestTimings {
  /** Request reached the route. */
  startedAt: number;
  /** The upstream request was created (connecting included from here). */
  upstreamSentAt?: number;
  /** The upstream's status and headers arrived. */
  upstreamHeadersAt?: number;
  /** The first frame of a streamed answer was written to the client. */
  firstTokenAt?: number;
  /** The upstream's answer was read to its end (or gave out). */
  upstreamEndAt?: number;
  /** The statistics were made (the answer has been handed to the socket). */
  endedAt?: number;
}

/** Where `inject` writes headers: the upstream request (a `ClientRequest`). */
export interface HeaderCarrier {
  setHeader(name: string, value: string): unknown;
}

/**
 * Something that watches every request of a route: the Prometheus metrics of `aiProxyMetrics()`
 * and the OpenTelemetry integration implement it. Calls never throw into the request (each is guarded).
 */
export interface StatisticsObserver {
  /** A request reached the route; the returned value is handed back to `inject` and `end`. */
  start(route: RouteInfo, req: IncomingMessage): unknown;
  /** Headers to add to the upstream request (e.g. `traceparent`). */
  inject?(state: unknown, upstreamRequest: HeaderCarrier): void;
  /** The request is over: its statistics, once. */
  end(state: unknown, route: RouteInfo, stats: ProxyStatistics, timings: RequestTimings): void;
}

/** Prometheus metrics for express-ai-proxy routes, made by `aiProxyMetrics()`; give it to `observability.metrics`. */
export interface AiProxyMetrics extends StatisticsObserver {
  /** Marks the object as made by `aiProxyMetrics()`. */
  readonly kind: 'prometheus';
}

/** `observability` in the config: request ids, Server-Timing, Prometheus and OpenTelemetry. */
export interface ObservabilityConfig {
  /** Prometheus metrics from `aiProxyMetrics({ register })` (needs `prom-client`). Off by default. */
  metrics?: AiProxyMetrics;
  /**
   * OpenTelemetry: one span per request and the GenAI metrics, through `@opentelemetry/api`
   * (which must then be installed; a no-op until the app registers an SDK). Defaults to false.
   */
  tracing?: boolean;
  /** The `route` label of metrics and spans. Defaults to the route type (`llm/v1/chat`). */
  route_name?: string;
  /** Send `Server-Timing` (the proxy's own time and the upstream's) on answers. Defaults to true. */
  server_timing?: boolean;
}
