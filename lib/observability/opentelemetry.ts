import type * as Api from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import type { ProxyStatistics } from '../types';
import { BUCKETS } from './buckets';
import { loadPeer } from './peer';
import { LastHit } from './last-hit';
import { ANSWERED, type AiProxyOutcome, type HeaderCarrier, type RequestTimings, type RouteInfo, type StatisticsObserver } from './types';

const SCOPE = 'express-ai-proxy';
const PROVIDER = 'llama2';

interface Instruments {
  tokens: Api.Histogram;
  duration: Api.Histogram;
  ttft: Api.Histogram;
  tpot: Api.Histogram;
}

/** `@opentelemetry/api`, loaded when a route first turns tracing on, never before. */
let api: typeof Api | undefined;
/** Made at the first request's end, so that an SDK registered after the routes were made is used. */
let instruments: Instruments | undefined;

function histograms(otel: typeof Api): Instruments {
  if (instruments) return instruments;
  const meter = otel.metrics.getMeter(SCOPE);
  const histogram = (name: string, unit: string, description: string, buckets: number[]) =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: buckets } });
  instruments = {
    tokens: histogram('gen_ai.client.token.usage', '{token}', 'Number of input and output tokens used.', BUCKETS.tokens),
    duration: histogram('gen_ai.client.operation.duration', 's', 'GenAI operation duration.', BUCKETS.duration),
    ttft: histogram('gen_ai.server.time_to_first_token', 's', 'Time to generate first token for successful responses.', BUCKETS.ttft),
    tpot: histogram(
      'gen_ai.server.time_per_output_token',
      's',
      'Time per output token generated after the first token for successful responses.',
      BUCKETS.tpot,
    ),
  };
  return instruments;
}

/** The metric attributes of one route, model and outcome (made once: metrics are recorded on every request). */
interface AttributeSets {
  common: Api.Attributes;
  duration: Api.Attributes;
  input: Api.Attributes;
  output: Api.Attributes;
}

/**
 * The SDK turns every record's attributes into a key (sorted, JSON-serialised) each time, about
 * 0.2 µs an attribute, five records a stream: each attribute must earn its place, so metrics carry
 * only those the conventions require. No `gen_ai.response.model`: the proxy only knows the
 * requested model, the same figure as `gen_ai.request.model`. No `server.address` and
 * `server.port` (recommended, and the port required only with the address): they cost about 2 µs
 * a stream and are on the span.
 */
function makeAttributeSets(route: RouteInfo, model: string, outcome: string): AttributeSets {
  const common: Api.Attributes = {
    'gen_ai.operation.name': route.operation,
    'gen_ai.provider.name': PROVIDER,
    'gen_ai.request.model': model,
  };
  return {
    common,
    duration: ANSWERED.has(outcome as AiProxyOutcome) ? common : { ...common, 'error.type': outcome },
    input: { ...common, 'gen_ai.token.type': 'input' },
    output: { ...common, 'gen_ai.token.type': 'output' },
  };
}

/** Made once per route: span start attributes, the span name, and the metric attribute sets by model and outcome. */
interface RouteTracing {
  name: string;
  startAttributes: Api.Attributes;
  sets: LastHit<AttributeSets>;
}

const routeTracing = new WeakMap<RouteInfo, RouteTracing>();
let lastRoute: RouteInfo | undefined;
let lastTracing: RouteTracing | undefined;

function tracingOf(route: RouteInfo): RouteTracing {
  if (route === lastRoute) return lastTracing!;
  let rt = routeTracing.get(route);
  if (rt === undefined) {
    rt = {
      name: route.configured_model ? `${route.operation} ${route.configured_model}` : route.operation,
      // The configured model goes in at the start, where samplers can see it (a request naming its own is set at the end).
      startAttributes: Object.freeze({
        'gen_ai.operation.name': route.operation,
        'gen_ai.provider.name': PROVIDER,
        ...(route.configured_model ? { 'gen_ai.request.model': route.configured_model } : {}),
        'server.address': route.server_address,
        'server.port': route.server_port,
        'express_ai_proxy.route': route.route,
        'express_ai_proxy.llama2_format': route.llama2_format,
      }),
      // Past 500 model/outcome pairs per route, sets are made afresh each time (the cache stays bounded).
      sets: new LastHit((model, outcome) => makeAttributeSets(route, model, outcome), 500),
    };
    routeTracing.set(route, rt);
  }
  lastRoute = route;
  return (lastTracing = rt);
}

/** `gen_ai.response.finish_reasons` values, one frozen array per reason (frozen: a span may keep the very array it is given). */
const finishReasons = new Map<string, readonly string[]>();
function finishReasonsOf(reason: string): readonly string[] {
  let list = finishReasons.get(reason);
  if (list === undefined) {
    list = Object.freeze([reason]);
    if (finishReasons.size < 50) finishReasons.set(reason, list);
  }
  return list;
}

interface SpanState {
  span: Api.Span;
  ctx: Api.Context;
}

const headerGetter: Api.TextMapGetter<IncomingMessage['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Writes `traceparent` (and whatever the app's propagator adds) straight onto the upstream request. */
const headerSetter: Api.TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => {
    carrier.setHeader(key, value);
  },
};

/** The end of a recording span: what the answer was (one call each: no attributes object to build and walk). */
function describe(otel: typeof Api, span: Api.Span, route: RouteInfo, stats: ProxyStatistics, answered: boolean): void {
  if (stats.model !== route.configured_model) {
    span.updateName(`${route.operation} ${stats.model}`);
    span.setAttribute('gen_ai.request.model', stats.model);
  }
  span.setAttribute('gen_ai.response.model', stats.model);
  span.setAttribute('gen_ai.usage.input_tokens', stats.prompt_tokens);
  span.setAttribute('gen_ai.usage.output_tokens', stats.completion_tokens);
  span.setAttribute('http.response.status_code', stats.status);
  span.setAttribute('express_ai_proxy.outcome', stats.outcome);
  span.setAttribute('express_ai_proxy.request_id', stats.request_id);
  span.setAttribute('express_ai_proxy.streamed', stats.streamed);
  if (stats.finish_reason) span.setAttribute('gen_ai.response.finish_reasons', finishReasonsOf(stats.finish_reason) as string[]);
  if (stats.time_to_first_token_ms !== undefined) span.setAttribute('express_ai_proxy.time_to_first_token_ms', stats.time_to_first_token_ms);
  if (!answered) {
    span.setAttribute('error.type', stats.outcome);
    span.setStatus({ code: otel.SpanStatusCode.ERROR, message: `${stats.outcome} (HTTP ${stats.status})` });
  }
}

/**
 * OpenTelemetry per the GenAI semantic conventions: a CLIENT span per request, child of the
 * active span (an HTTP server instrumentation's) or else of the incoming `traceparent`, ending
 * with the answer (for streams, at their last frame); `traceparent` goes upstream; and the
 * `gen_ai.client.*` / `gen_ai.server.*` histograms with the same figures.
 */
export function createTracing(): StatisticsObserver {
  const otel = (api ??= loadPeer<typeof Api>('@opentelemetry/api', 'observability.tracing'));
  // A ProxyTracer: follows whatever provider the app registers, before or after this.
  const tracer = otel.trace.getTracer(SCOPE);
  return {
    start(route: RouteInfo, req: IncomingMessage): SpanState {
      const rt = tracingOf(route);
      const active = otel.context.active();
      const parent = otel.trace.getSpan(active) ? active : otel.propagation.extract(active, req.headers, headerGetter);
      const span = tracer.startSpan(rt.name, { kind: otel.SpanKind.CLIENT, attributes: rt.startAttributes }, parent);
      return { span, ctx: otel.trace.setSpan(parent, span) };
    },

    inject(state: unknown, carrier: HeaderCarrier): void {
      if (!state) return;
      otel.propagation.inject((state as SpanState).ctx, carrier, headerSetter);
    },

    end(state: unknown, route: RouteInfo, stats: ProxyStatistics, t: RequestTimings): void {
      const answered = ANSWERED.has(stats.outcome);
      const span = (state as SpanState | undefined)?.span;
      if (span) {
        // A sampled-out span drops whatever it is given: its attributes are not worth making.
        if (span.isRecording()) describe(otel, span, route, stats, answered);
        span.end();
      }
      const { tokens, duration, ttft, tpot } = histograms(otel);
      const attrs = tracingOf(route).sets.get(stats.model, stats.outcome, '', '');
      const ended = t.endedAt ?? performance.now();
      duration.record((ended - t.startedAt) / 1000, attrs.duration);
      if (stats.prompt_tokens > 0 || stats.completion_tokens > 0) {
        tokens.record(stats.prompt_tokens, attrs.input);
        tokens.record(stats.completion_tokens, attrs.output);
      }
      if (answered && stats.streamed && t.firstTokenAt !== undefined) {
        ttft.record((t.firstTokenAt - t.startedAt) / 1000, attrs.common);
        if (stats.time_per_output_token_ms !== undefined) tpot.record(stats.time_per_output_token_ms / 1000, attrs.common);
      }
    },
  };
}
