import type * as Prom from 'prom-client';
import type { IncomingMessage } from 'node:http';
import type { ProxyStatistics } from '../types';
import { BoundedLabel } from './bounded-labels';
import { BUCKETS } from './buckets';
import { loadPeer } from './peer';
import { ANSWERED, type AiProxyMetrics, type RequestTimings, type RouteInfo } from './types';

/** Options of `aiProxyMetrics()`. */
export interface AiProxyMetricsOptions {
  /**
   * The prom-client `Registry` to register the metrics in. Defaults to prom-client's global
   * `register` (what `register.metrics()` serves).
   */
  register?: object;
}

type Labels = 'route' | 'gen_ai_operation_name' | 'gen_ai_request_model';

/** One set of metrics per registry: prom-client refuses a second metric with the same name. */
const byRegistry = new WeakMap<object, AiProxyMetrics>();

/**
 * Prometheus metrics for every route given them in `observability.metrics` (one call, shared by
 * routes). Names follow the OpenTelemetry GenAI semantic conventions in Prometheus form:
 * `gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`,
 * `gen_ai_server_time_to_first_token_seconds`, `gen_ai_server_time_per_output_token_seconds`,
 * plus `express_ai_proxy_requests_total` (by route, model, format, outcome),
 * `express_ai_proxy_cost_total`, `express_ai_proxy_requests_in_flight` (by route and target),
 * `express_ai_proxy_upstream_duration_seconds` and `express_ai_proxy_overhead_seconds`.
 * Loads the optional peer `prom-client` here, and only here.
 *
 * @example
 * const metrics = aiProxyMetrics();
 * app.use('/llama2-chat', aiProxy({ ...config, observability: { metrics } }));
 * app.get('/metrics', async (req, res) => res.type('text/plain').send(await promClient.register.metrics()));
 */
export function aiProxyMetrics(options: AiProxyMetricsOptions = {}): AiProxyMetrics {
  const prom = loadPeer<typeof Prom>('prom-client', 'aiProxyMetrics()');
  const register = (options.register ?? prom.register) as Prom.Registry;
  let metrics = byRegistry.get(register);
  if (!metrics) {
    metrics = prometheusObserver(prom, register);
    byRegistry.set(register, metrics);
  }
  return metrics;
}

function prometheusObserver(prom: typeof Prom, register: Prom.Registry): AiProxyMetrics {
  const registers = [register];
  const base: Labels[] = ['route', 'gen_ai_operation_name', 'gen_ai_request_model'];
  const tokens = new prom.Histogram({
    name: 'gen_ai_client_token_usage', help: 'Number of input and output tokens used (gen_ai.client.token.usage).',
    labelNames: [...base, 'gen_ai_token_type'], buckets: BUCKETS.tokens, registers,
  });
  const duration = new prom.Histogram({
    name: 'gen_ai_client_operation_duration_seconds', help: 'Duration of each request through the proxy, to its last byte (gen_ai.client.operation.duration).',
    labelNames: [...base, 'outcome'], buckets: BUCKETS.duration, registers,
  });
  const ttft = new prom.Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds', help: 'Time to the first streamed frame, for answered streams (gen_ai.server.time_to_first_token).',
    labelNames: base, buckets: BUCKETS.ttft, registers,
  });
  const tpot = new prom.Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds', help: 'Time per output token after the first, for answered streams (gen_ai.server.time_per_output_token).',
    labelNames: base, buckets: BUCKETS.tpot, registers,
  });
  const requests = new prom.Counter({
    name: 'express_ai_proxy_requests_total', help: 'Requests handled, by route, model, format and outcome.',
    labelNames: ['route', 'gen_ai_request_model', 'llama2_format', 'outcome', 'status_class'], registers,
  });
  const cost = new prom.Counter({
    name: 'express_ai_proxy_cost_total', help: 'Cost of the tokens used, from input_cost / output_cost (per million tokens).',
    labelNames: ['route', 'gen_ai_request_model'], registers,
  });
  const inFlight = new prom.Gauge({
    name: 'express_ai_proxy_requests_in_flight', help: 'Requests being handled now, by route and upstream target.',
    labelNames: ['route', 'target'], registers,
  });
  const upstream = new prom.Histogram({
    name: 'express_ai_proxy_upstream_duration_seconds', help: 'Upstream time: from sending the request to the last byte of its answer.',
    labelNames: ['route', 'target'], buckets: BUCKETS.duration, registers,
  });
  const overhead = new prom.Histogram({
    name: 'express_ai_proxy_overhead_seconds', help: "The proxy's own time per request: total minus upstream time.",
    labelNames: ['route'], buckets: BUCKETS.overhead, registers,
  });
  const models = new BoundedLabel();

  return {
    kind: 'prometheus',
    start(route: RouteInfo, _req: IncomingMessage): undefined {
      inFlight.inc({ route: route.route, target: route.target });
      return undefined;
    },
    end(_state: unknown, route: RouteInfo, stats: ProxyStatistics, t: RequestTimings): void {
      inFlight.dec({ route: route.route, target: stats.target });
      const model = models.value(stats.model);
      const labels = { route: route.route, gen_ai_operation_name: route.operation, gen_ai_request_model: model };
      const ended = t.endedAt ?? performance.now();
      requests.inc({ route: route.route, gen_ai_request_model: model, llama2_format: route.llama2_format, outcome: stats.outcome, status_class: `${Math.floor(stats.status / 100)}xx` });
      duration.observe({ ...labels, outcome: stats.outcome }, (ended - t.startedAt) / 1000);
      if (stats.prompt_tokens > 0 || stats.completion_tokens > 0) {
        tokens.observe({ ...labels, gen_ai_token_type: 'input' }, stats.prompt_tokens);
        tokens.observe({ ...labels, gen_ai_token_type: 'output' }, stats.completion_tokens);
      }
      if (stats.cost !== undefined && stats.cost > 0) cost.inc({ route: route.route, gen_ai_request_model: model }, stats.cost);
      if (t.upstreamSentAt !== undefined) {
        const upstreamMs = (t.upstreamEndAt ?? ended) - t.upstreamSentAt;
        upstream.observe({ route: route.route, target: stats.target }, upstreamMs / 1000);
        overhead.observe({ route: route.route }, Math.max(0, ended - t.startedAt - upstreamMs) / 1000);
      }
      if (ANSWERED.has(stats.outcome) && stats.streamed && t.firstTokenAt !== undefined) {
        ttft.observe(labels, (t.firstTokenAt - t.startedAt) / 1000);
        if (stats.time_per_output_token_ms !== undefined) tpot.observe(labels, stats.time_per_output_token_ms / 1000);
      }
    },
  };
}
