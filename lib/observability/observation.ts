import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config';
import { log } from '../debug';
import type { ProxyStatistics } from '../types';
import { createTracing } from './opentelemetry';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id';
import { serverTiming } from './server-timing';
import type { RequestTimings, RouteInfo, StatisticsObserver } from './types';

const debug = log.extend('observability');

type WithLocals = ServerResponse & { locals?: Record<string, unknown> };

/** What one mounted route observes with, set up once from its config. */
export class RouteObservability {
  readonly info: RouteInfo;
  readonly observers: StatisticsObserver[] = [];
  readonly serverTiming: boolean;

  constructor(config: ResolvedConfig, url: URL) {
    const o = config.observability;
    this.info = {
      route: o.route_name ?? config.route_type,
      route_type: config.route_type,
      llama2_format: config.model.options.llama2_format,
      operation: config.route_type === 'llm/v1/chat' ? 'chat' : 'text_completion',
      configured_model: config.model.name,
      target: url.origin,
      server_address: url.hostname.replace(/^\[|\]$/g, ''),
      server_port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    };
    this.serverTiming = o.server_timing;
    if (o.metrics) this.observers.push(o.metrics);
    if (o.tracing) this.observers.push(createTracing());
  }

  /** Metrics or tracing want token counts even when `log_statistics` is off. */
  get wantsUsage(): boolean {
    return this.observers.length > 0;
  }

  begin(req: IncomingMessage, res: ServerResponse): Observation {
    return new Observation(this, req, res);
  }
}

/**
 * One request, from the moment the route takes it to its statistics: the request id, the
 * timings, and the per-request state of each observer. Made by the route for every POST it handles.
 */
export class Observation {
  readonly timings: RequestTimings;
  readonly requestId: string;
  ended = false;
  private readonly states: unknown[] | undefined;

  constructor(
    readonly route: RouteObservability,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.timings = { startedAt: performance.now() };
    this.requestId = requestIdOf(req.headers, res.getHeader(REQUEST_ID_HEADER));
    res.setHeader(REQUEST_ID_HEADER, this.requestId);
    const observers = route.observers;
    if (observers.length > 0) {
      this.states = new Array<unknown>(observers.length);
      for (let i = 0; i < observers.length; i++) {
        try {
          this.states[i] = observers[i]!.start(route.info, req);
        } catch (err) {
          failed('start', err);
        }
      }
    }
  }

  get startedAt(): number {
    return this.timings.startedAt;
  }

  /** The upstream request exists: the request id and trace context go with it. */
  upstreamRequest(proxyReq: ClientRequest): void {
    this.timings.upstreamSentAt = performance.now();
    proxyReq.setHeader(REQUEST_ID_HEADER, this.requestId);
    const states = this.states;
    if (states === undefined) return;
    const observers = this.route.observers;
    for (let i = 0; i < observers.length; i++) {
      try {
        observers[i]!.inject?.(states[i], proxyReq);
      } catch (err) {
        failed('inject', err);
      }
    }
  }

  /** The upstream's headers arrived; a stream's own headers are about to leave with what is known now. */
  upstreamResponded(res: ServerResponse, streaming: boolean): void {
    const now = (this.timings.upstreamHeadersAt = performance.now());
    if (streaming && this.route.serverTiming && !res.headersSent) res.setHeader('server-timing', serverTiming(this.timings, now));
  }

  /** The upstream's whole (non-streamed) answer has been read, or reading it failed: the clock only. */
  upstreamDone(): void {
    this.timings.upstreamEndAt ??= performance.now();
  }

  /** The upstream exchange is over and the proxy answers with an error: `Server-Timing` is set for it. */
  upstreamEnded(res: ServerResponse): void {
    const now = performance.now();
    this.timings.upstreamEndAt ??= now;
    if (this.route.serverTiming && !res.headersSent) res.setHeader('server-timing', serverTiming(this.timings, now));
  }

  /** A stream's upstream answer is over (ended, cut or abandoned). */
  streamEnded(): void {
    this.timings.upstreamEndAt ??= performance.now();
  }

  /** The first frame of a streamed answer went to the client. */
  firstToken(): void {
    this.timings.firstTokenAt ??= performance.now();
  }

  /** `Server-Timing` as of now, or undefined when the route turned it off. */
  serverTimingValue(): string | undefined {
    return this.route.serverTiming ? serverTiming(this.timings, performance.now()) : undefined;
  }

  /** Sets `Server-Timing` on an answer not yet begun. */
  setServerTiming(res: ServerResponse): void {
    if (!this.route.serverTiming || res.headersSent) return;
    res.setHeader('server-timing', serverTiming(this.timings, performance.now()));
  }

  /** The request is over: its statistics go on `res.locals.aiProxy` and to every observer, once. */
  finish(stats: ProxyStatistics): void {
    this.ended = true;
    const res = this.res as WithLocals;
    (res.locals ??= {}).aiProxy = stats;
    const states = this.states;
    if (states === undefined) return;
    const observers = this.route.observers;
    for (let i = 0; i < observers.length; i++) {
      try {
        observers[i]!.end(states[i], this.route.info, stats, this.timings);
      } catch (err) {
        failed('end', err);
      }
    }
  }
}

/** An observer failing never fails the request: it is logged and skipped. */
function failed(what: string, err: unknown): void {
  debug('observer %s failed: %s', what, (err as Error)?.message);
}
