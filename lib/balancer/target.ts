import type { Agent, ClientRequest, IncomingHttpHeaders } from 'node:http';
import { applyAuthBody, applyAuthHeader, queryAuthIsPerRequest, secretsOf, withAuthQuery } from '../auth';
import type { ContractTarget } from '../contract/request-fields';
import type { Exchange } from '../exchange';
import { newAttempt } from '../transport/stale-socket';
import type { Observation } from '../observability/observation';
import { getFormat, rawDialectFor, rawStreamPath } from '../formats';
import type { Format, LlmRequest } from '../formats/format';
import { upstreamHeaderFilter, type UpstreamHeaderFilter } from '../headers/upstream-headers';
import { toLlmRequest } from '../llm-request';
import { defaultAgent, proxyTarget, type UpstreamTarget } from '../proxy';
import { hideInLogs } from '../redact';
import type { RouteParts } from '../route-parts';
import { Breaker } from './breaker';
import type { ResolvedBalancer, ResolvedTarget } from './config';
import { Limiter } from './limiter';

/**
 * One target at run time: its format, paths, field contract and header policy worked out once (as
 * a single-upstream route does, with the same modules), and its live state: breaker, concurrency
 * limiter, requests in flight, health.
 */
export class TargetRuntime {
  readonly name: string;
  readonly index: number;
  readonly weight: number;
  readonly priority: number;
  readonly url: URL;
  readonly agent: Agent;
  readonly format: Format;
  readonly parts: RouteParts;
  readonly breaker: Breaker | undefined;
  readonly limiter: Limiter;
  inflight = 0;
  healthy = true;
  /** A 429's Retry-After keeps the target out until then (performance.now() time). */
  pausedUntil = 0;
  /** The row of the OpenAI field contract this target's upstream reads (`raw` is TGI or llama.cpp). */
  private readonly contract: ContractTarget;
  private readonly filterHeaders: UpstreamHeaderFilter;
  private readonly basePath: string;
  private readonly streamPath: string;
  private readonly pathPerRequest: boolean;
  /** Only for the `Exchange` shape; the balanced route does its own transport. */
  private readonly upstream: UpstreamTarget;

  constructor(
    readonly spec: ResolvedTarget,
    balancer: ResolvedBalancer,
  ) {
    const config = spec.config;
    const options = config.model.options;
    this.name = spec.name;
    this.index = spec.index;
    this.weight = spec.weight;
    this.priority = spec.priority;
    this.url = new URL(options.upstream_url);
    this.agent = config.agent ?? defaultAgent(this.url);
    const rawDialect = rawDialectFor(this.url.pathname, options.raw_dialect);
    this.format = getFormat(options.llama2_format);
    this.contract = options.llama2_format === 'raw' ? rawDialect : options.llama2_format;
    this.parts = {
      config,
      format: this.format,
      ctx: { routeType: config.route_type, format: options.llama2_format, rawDialect },
      secrets: secretsOf(config.auth),
    };
    hideInLogs(this.parts.secrets);
    this.filterHeaders = upstreamHeaderFilter(config);
    const streamPathname = options.llama2_format === 'raw' ? rawStreamPath(this.url.pathname, rawDialect) : this.url.pathname;
    this.pathPerRequest = queryAuthIsPerRequest(config.auth);
    this.basePath = this.url.pathname + this.url.search;
    this.streamPath = streamPathname + this.url.search;
    if (!this.pathPerRequest) {
      this.basePath = withAuthQuery(this.basePath, undefined, config.auth);
      this.streamPath = withAuthQuery(this.streamPath, undefined, config.auth);
    }
    this.breaker = balancer.circuit_breaker.enabled ? new Breaker(balancer.circuit_breaker) : undefined;
    this.limiter = new Limiter(spec.max_concurrency, balancer.queue.max_length, balancer.queue.max_wait);
    this.upstream = { target: proxyTarget(this.url), handlers: { onProxyReq: noop, onProxyRes: noop, onError: noop } };
  }

  /** Whether the target may get a request now (breaker and health; busy is decided separately). */
  available(now: number): boolean {
    return this.healthy && now >= this.pausedUntil && (this.breaker === undefined || this.breaker.allows(now));
  }

  /** The client's request as this target's upstream request (throws ProxyError for a request this target cannot honour). */
  exchange(body: Record<string, unknown>, clientUrl: string | undefined, obs: Observation): Exchange {
    const llmReq: LlmRequest = toLlmRequest(body, this.parts.config, this.contract);
    const upstreamBody = this.format.toUpstream(llmReq, this.parts.ctx);
    applyAuthBody(upstreamBody, body, this.parts.config.auth);
    let path = llmReq.stream ? this.streamPath : this.basePath;
    if (this.pathPerRequest) path = withAuthQuery(path, clientUrl, this.parts.config.auth);
    return {
      llmReq,
      payload: Buffer.from(JSON.stringify(upstreamBody)),
      path,
      upstream: this.upstream,
      startedAt: obs.startedAt,
      obs,
      proxyReq: undefined,
      timedOut: false,
      clientGone: false,
      // Unused here (the balancer sends its own requests and fails over instead), but part of an exchange.
      attempt: newAttempt(),
    };
  }

  /**
   * Upstream request headers, as a single-upstream route sets them on http-proxy's request: the
   * client's headers, then the route's header policy (`forward_headers`, hop-by-hop, Cookie, the
   * client's Authorization), the request id and trace context, ours, and the configured auth.
   */
  prepare(proxyReq: ClientRequest, client: IncomingHttpHeaders, exchange: Exchange): void {
    for (const [k, v] of Object.entries(client)) if (v !== undefined && k !== 'host') proxyReq.setHeader(k, v);
    this.filterHeaders(proxyReq, client);
    exchange.obs.upstreamRequest(proxyReq);
    proxyReq.setHeader('content-type', 'application/json');
    proxyReq.setHeader('content-length', exchange.payload.length);
    if (exchange.llmReq.stream) proxyReq.setHeader('accept', this.format.streamFraming === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream');
    applyAuthHeader(proxyReq, client, this.parts.config.auth);
  }
}

function noop(): void {}
