import type * as Prom from 'prom-client';
import type { IncomingMessage } from 'node:http';
import type { ProxyStatistics } from '../types';
import { BoundedLabel } from './bounded-labels';
import { BUCKETS } from './buckets';
import { LastHit } from './last-hit';
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
    name: 'gen_ai_client_token_usage',
    help: 'Number of input and output tokens used (gen_ai.client.token.usage).',
    labelNames: [...base, 'gen_ai_token_type'],
    buckets: BUCKETS.tokens,
    registers,
  });
  const duration = new prom.Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of each request through the proxy, to its last byte (gen_ai.client.operation.duration).',
    labelNames: [...base, 'outcome'],
    buckets: BUCKETS.duration,
    registers,
  });
  const ttft = new prom.Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time to the first streamed frame, for answered streams (gen_ai.server.time_to_first_token).',
    labelNames: base,
    buckets: BUCKETS.ttft,
    registers,
  });
  const tpot = new prom.Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Time per output token after the first, for answered streams (gen_ai.server.time_per_output_token).',
    labelNames: base,
    buckets: BUCKETS.tpot,
    registers,
  });
  // Counts and the in-flight gauge are plain numbers on the request path (prom-client validates
  // and hashes the labels of every inc()/dec(), about 0.3 µs each); prom-client's `collect` hook,
  // run on every read of the registry, hands them over, so a scrape always sees them current.
  const allSeries: Series[] = [];
  const allRoutes: RouteSeries[] = [];
  const requests: Prom.Counter<string> = new prom.Counter({
    name: 'express_ai_proxy_requests_total',
    help: 'Requests handled, by route, model, format and outcome.',
    labelNames: ['route', 'gen_ai_request_model', 'llama2_format', 'outcome', 'status_class'],
    registers,
    collect: () => {
      for (const s of allSeries) {
        if (s.requests === 0) continue;
        requests.inc(s.requestLabels, s.requests);
        s.requests = 0;
      }
    },
  });
  const cost: Prom.Counter<string> = new prom.Counter({
    name: 'express_ai_proxy_cost_total',
    help: 'Cost of the tokens used, from input_cost / output_cost (per million tokens).',
    labelNames: ['route', 'gen_ai_request_model'],
    registers,
    collect: () => {
      for (const s of allSeries) {
        if (s.cost === 0) continue;
        cost.inc(s.costLabels, s.cost);
        s.cost = 0;
      }
    },
  });
  const inFlight: Prom.Gauge<string> = new prom.Gauge({
    name: 'express_ai_proxy_requests_in_flight',
    help: 'Requests being handled now, by route and upstream target.',
    labelNames: ['route', 'target'],
    registers,
    collect: () => {
      for (const r of allRoutes) inFlight.set(r.inFlightLabels, r.inFlight);
    },
  });
  const upstream = new prom.Histogram({
    name: 'express_ai_proxy_upstream_duration_seconds',
    help: 'Upstream time: from sending the request to the last byte of its answer.',
    labelNames: ['route', 'target'],
    buckets: BUCKETS.duration,
    registers,
  });
  const overhead = new prom.Histogram({
    name: 'express_ai_proxy_overhead_seconds',
    help: "The proxy's own time per request: total minus upstream time.",
    labelNames: ['route'],
    buckets: BUCKETS.overhead,
    registers,
  });
  const models = new BoundedLabel();

  /** The label-bound series of one route, target, model, outcome and status class, made once (prom-client validates and hashes label objects otherwise). */
  interface Series {
    /** Requests counted since the last read of the registry. */
    requests: number;
    requestLabels: Prom.LabelValues<string>;
    /** Cost summed since the last read of the registry. */
    cost: number;
    costLabels: Prom.LabelValues<string>;
    duration: Prom.Histogram.Internal<string>;
    input: Prom.Histogram.Internal<string>;
    output: Prom.Histogram.Internal<string>;
    ttft: Prom.Histogram.Internal<string>;
    tpot: Prom.Histogram.Internal<string>;
    upstream: Prom.Histogram.Internal<string>;
    overhead: Prom.Histogram.Internal<string>;
  }
  /** What a route binds once: its requests in flight and its series by target, model, outcome and status class. */
  interface RouteSeries {
    inFlight: number;
    inFlightLabels: Prom.LabelValues<string>;
    series: LastHit<Series, number>;
  }
  const routes = new WeakMap<RouteInfo, RouteSeries>();
  const bind = (route: RouteInfo): RouteSeries => {
    const make = (target: string, model: string, statusClass: number, outcome: string): Series => {
      const labels = { route: route.route, gen_ai_operation_name: route.operation, gen_ai_request_model: model };
      const status_class = `${statusClass}xx`;
      const s: Series = {
        requests: 0,
        requestLabels: { route: route.route, gen_ai_request_model: model, llama2_format: route.llama2_format, outcome, status_class },
        cost: 0,
        costLabels: { route: route.route, gen_ai_request_model: model },
        duration: duration.labels({ ...labels, outcome }),
        input: tokens.labels({ ...labels, gen_ai_token_type: 'input' }),
        output: tokens.labels({ ...labels, gen_ai_token_type: 'output' }),
        ttft: ttft.labels(labels),
        tpot: tpot.labels(labels),
        upstream: upstream.labels({ route: route.route, target }),
        overhead: overhead.labels({ route: route.route }),
      };
      allSeries.push(s);
      return s;
    };
    // Every combination is kept (collect reads them all): bounded, as model values are (BoundedLabel),
    // and outcomes, status classes and a route's targets are few; prom-client keeps as many series.
    const bound: RouteSeries = { inFlight: 0, inFlightLabels: { route: route.route, target: route.target }, series: new LastHit(make, Infinity) };
    routes.set(route, bound);
    allRoutes.push(bound);
    return bound;
  };
  let lastRoute: RouteInfo | undefined;
  let lastBound: RouteSeries | undefined;
  const boundOf = (route: RouteInfo): RouteSeries => {
    if (route === lastRoute) return lastBound!;
    lastRoute = route;
    return (lastBound = routes.get(route) ?? bind(route));
  };

  return {
    kind: 'prometheus',
    start(route: RouteInfo, _req: IncomingMessage): RouteSeries {
      // The route is the request's state: `end` takes the request off the very count `start` put it on.
      const bound = boundOf(route);
      bound.inFlight++;
      return bound;
    },
    end(state: unknown, route: RouteInfo, stats: ProxyStatistics, t: RequestTimings): void {
      if (state !== undefined) (state as RouteSeries).inFlight--;
      const s = boundOf(route).series.get(stats.target, models.value(stats.model), Math.floor(stats.status / 100), stats.outcome);
      const total = (t.endedAt ?? performance.now()) - t.startedAt;
      s.requests++;
      s.duration.observe(total / 1000);
      if (stats.prompt_tokens > 0 || stats.completion_tokens > 0) {
        s.input.observe(stats.prompt_tokens);
        s.output.observe(stats.completion_tokens);
      }
      if (stats.cost !== undefined && stats.cost > 0) s.cost += stats.cost;
      if (t.upstreamSentAt !== undefined) {
        const upstreamMs = (t.upstreamEndAt ?? t.startedAt + total) - t.upstreamSentAt;
        s.upstream.observe(upstreamMs / 1000);
        s.overhead.observe(Math.max(0, total - upstreamMs) / 1000);
      }
      if (ANSWERED.has(stats.outcome) && stats.streamed && t.firstTokenAt !== undefined) {
        s.ttft.observe((t.firstTokenAt - t.startedAt) / 1000);
        if (stats.time_per_output_token_ms !== undefined) s.tpot.observe(stats.time_per_output_token_ms / 1000);
      }
    },
  };
}
