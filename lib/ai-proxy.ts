import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { applyAuthBody, applyAuthHeader, queryAuthIsPerRequest, secretsOf, withAuthQuery } from './auth';
import { readJsonBody } from './body';
import { validateConfig, type ResolvedConfig } from './config';
import type { ContractTarget } from './contract/request-fields';
import { log } from './debug';
import { ProxyError, sendError } from './errors';
import { attachExchange, exchangeOf, type Exchange } from './exchange';
import type { Format, FormatContext } from './formats/format';
import { upstreamHeaderFilter, type UpstreamHeaderFilter } from './headers/upstream-headers';
import { getFormat, rawDialectFor, rawStreamPath } from './formats';
import { toLlmRequest } from './llm-request';
import { embeddingsFormat, toEmbeddingsRequest } from './embeddings';
import { defaultAgent, proxyTarget, transportFor, type Transport, type UpstreamTarget } from './proxy';
import { newAttempt } from './transport/stale-socket';
import { RouteObservability, type Observation } from './observability/observation';
import { reportRefusal, reportStatistics } from './statistics';
import { relayJson } from './relay-json';
import { relayStream } from './relay-stream';
import { modelHeader, type RouteParts } from './route-parts';
import { subPathError } from './router/sub-path';
import { compileTemplates, type RouteTemplates } from './templates';
import { upstreamPathAdvice } from './advice/upstream-path';
import type { AiProxyConfig } from './types';
import { badUpstreamStatusError, isRelayableStatus } from './upstream-status';
import { balancedProxy } from './balancer/balanced-route';
import { isBalancedConfig } from './balancer/config';
import type { BalancedAiProxyConfig, BalancedAiProxyMiddleware } from './balancer/types';
import { redact } from './upstream-error';
import { hideInLogs } from './redact';
import { timeoutMessage, UpstreamDeadlines } from './deadlines/upstream-deadlines';

/** An Express-compatible middleware (works with plain `http` too). */
export type AiProxyMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Creates the AI proxy middleware for one route. The config is validated here, once; an invalid
 * config throws `AiProxyConfigError` listing every problem.
 *
 * @example
 * app.use('/llama2-chat', aiProxy({
 *   route_type: 'llm/v1/chat',
 *   model: { provider: 'llama2', name: 'llama2',
 *            options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat' } },
 * }));
 */
export function aiProxy(config: AiProxyConfig): AiProxyMiddleware;
/** A route served by several model servers (`targets` and `balancer`, see lib/balancer). */
export function aiProxy(config: BalancedAiProxyConfig): BalancedAiProxyMiddleware;
export function aiProxy(config: AiProxyConfig | BalancedAiProxyConfig): AiProxyMiddleware;
export function aiProxy(config: AiProxyConfig | BalancedAiProxyConfig): AiProxyMiddleware {
  if (isBalancedConfig(config)) return balancedProxy(config);
  const route = new Route(validateConfig(config));
  return route.handle;
}

/** The client went away before its answer was complete: stop the upstream work at once. */
function abortUpstreamIfUnfinished(this: ServerResponse): void {
  if (this.writableFinished) return;
  const exchange = exchangeOf(this.req);
  if (!exchange) return;
  exchange.clientGone = true;
  exchange.proxyReq?.destroy();
}

/** Everything about one mounted route that can be worked out before the first request. */
class Route {
  private readonly format: Format;
  private readonly ctx: FormatContext;
  private readonly target: ContractTarget;
  private readonly transport: Transport;
  private readonly secrets: string[];
  private readonly parts: RouteParts;
  private readonly upstream: UpstreamTarget;
  private readonly filterHeaders: UpstreamHeaderFilter;
  private readonly observability: RouteObservability;
  /** Upstream paths, without and with streaming; query auth already in them unless it is per request. */
  private basePath: string;
  private streamPath: string;
  private readonly pathPerRequest: boolean;
  private readonly embeddings: boolean;
  private readonly templates: RouteTemplates | undefined;
  /** Set when the upstream path looks wrong for the format; a 404 from there gets it as a hint. */
  private readonly pathAdvice: string | undefined;

  constructor(private readonly config: ResolvedConfig) {
    const options = config.model.options;
    // First: it refuses a templated host before anything connects anywhere.
    this.templates = compileTemplates(config, (pathAndQuery) => this.pathsFor(pathAndQuery));
    const url = new URL(options.upstream_url);
    const rawDialect = rawDialectFor(url.pathname, options.raw_dialect);
    this.embeddings = config.route_type === 'llm/v1/embeddings';
    this.format = this.embeddings ? embeddingsFormat(config) : getFormat(options.llama2_format);
    this.ctx = { routeType: config.route_type, format: options.llama2_format, rawDialect };
    this.target = options.llama2_format === 'raw' ? rawDialect : options.llama2_format;
    this.secrets = secretsOf(config.auth);
    this.filterHeaders = upstreamHeaderFilter(config);
    hideInLogs(this.secrets);
    this.parts = { config, format: this.format, ctx: this.ctx, secrets: this.secrets };
    this.pathPerRequest = queryAuthIsPerRequest(config.auth);
    ({ basePath: this.basePath, streamPath: this.streamPath } = this.pathsFor(url.pathname + url.search));
    this.upstream = {
      target: proxyTarget(url),
      handlers: { onProxyReq: this.onProxyReq, onProxyRes: this.onProxyRes, onError: this.onError },
    };
    this.transport = transportFor(config.agent ?? defaultAgent(url), exchangeOf);
    this.observability = new RouteObservability(config, url);
    this.pathAdvice = upstreamPathAdvice(config);
    if (this.pathAdvice) log('config warning: %s', this.pathAdvice);
  }

  /** The upstream paths without and with streaming for a path and query; query auth added unless it is per request. */
  private pathsFor(pathAndQuery: string): { basePath: string; streamPath: string } {
    const q = pathAndQuery.indexOf('?');
    const pathname = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
    const search = q === -1 ? '' : pathAndQuery.slice(q);
    const raw = this.config.model.options.llama2_format === 'raw';
    let basePath = pathAndQuery;
    let streamPath = (raw ? rawStreamPath(pathname, this.ctx.rawDialect) : pathname) + search;
    if (!this.pathPerRequest) {
      basePath = withAuthQuery(basePath, undefined, this.config.auth);
      streamPath = withAuthQuery(streamPath, undefined, this.config.auth);
    }
    return { basePath, streamPath };
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const obs = this.observability.begin(req, res);
    const wrongPath = subPathError(req, this.config.route_type);
    if (wrongPath) {
      this.fail(res, wrongPath, obs, undefined);
      return;
    }
    try {
      const body = readJsonBody(req, this.config.max_request_body_size, this.config.request_body_timeout);
      if (body instanceof Promise)
        body.then(
          (b) => this.forward(req, res, next, b, obs),
          (err) => this.fail(res, err, obs, undefined),
        );
      else this.forward(req, res, next, body, obs);
    } catch (err) {
      this.fail(res, err, obs, undefined);
    }
  };

  private forward(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, body: Record<string, unknown>, obs: Observation): void {
    try {
      const templated = this.templates?.resolve(req);
      const config = templated?.config ?? this.config;
      const llmReq = this.embeddings ? toEmbeddingsRequest(body, config) : toLlmRequest(body, config, this.target);
      const upstreamBody = this.format.toUpstream(llmReq, this.ctx);
      applyAuthBody(upstreamBody, body, this.config.auth);
      let path = llmReq.stream ? (templated?.streamPath ?? this.streamPath) : (templated?.basePath ?? this.basePath);
      if (this.pathPerRequest) path = withAuthQuery(path, req.url, this.config.auth);
      const exchange: Exchange = {
        llmReq,
        payload: Buffer.from(JSON.stringify(upstreamBody)),
        path,
        upstream: this.upstream,
        startedAt: obs.startedAt,
        proxyReq: undefined,
        timedOut: false,
        clientGone: false,
        attempt: newAttempt(),
        obs,
      };
      attachExchange(req, exchange);
      // http-proxy skips its proxyReq hook (where the body is written) when `Expect` is set;
      // Node has already answered 100-continue to the client.
      delete req.headers.expect;
      // `on`, not `once`: 'close' comes once, and `once` allocates a wrapper on every request.
      res.on('close', abortUpstreamIfUnfinished);
      this.transport(req, res, next);
    } catch (err) {
      this.fail(res, err, obs, body);
    }
  }

  private fail(res: ServerResponse, err: unknown, obs: Observation, body: Record<string, unknown> | undefined): void {
    obs.setServerTiming(res);
    if (err instanceof ProxyError) {
      // The rest of the body is not read: close rather than leave the connection to what the client still sends.
      if (err.status === 408 || err.status === 413 || err.status === 415) res.setHeader('connection', 'close');
      sendError(res, err);
      reportRefusal(this.config, obs, err.status, body);
      return;
    }
    log('internal error: %s', (err as Error)?.message);
    sendError(res, new ProxyError(500, 'internal error in express-ai-proxy', 'api_error'));
    reportRefusal(this.config, obs, 500, body);
  }

  private readonly onProxyReq = (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void => {
    const exchange = exchangeOf(req);
    if (!exchange || exchange.clientGone) {
      // The client left while we were still connecting (or, never expected, the request has no state):
      // nothing is sent, and the request is not left open waiting for a body.
      proxyReq.destroy();
      return;
    }
    try {
      this.prepareUpstreamRequest(proxyReq, req, res, exchange);
    } catch (err) {
      // A throw here would escape http-proxy's event and take the process down: fail the request instead.
      log('could not prepare the upstream request: %s', (err as Error).message);
      proxyReq.destroy(err as Error);
    }
  };

  private prepareUpstreamRequest(proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse, exchange: Exchange): void {
    exchange.proxyReq = proxyReq;
    if (proxyReq.path !== exchange.path) proxyReq.path = exchange.path;
    this.filterHeaders(proxyReq, req.headers);
    // Node reports a 101 as `upgrade`, not `response`: unanswered, the request would hang.
    proxyReq.on('upgrade', (proxyRes: IncomingMessage, socket: Socket) => {
      socket.destroy();
      this.refuseStatus(res, exchange, proxyRes.statusCode);
    });
    exchange.obs.upstreamRequest(proxyReq);
    proxyReq.setHeader('content-type', 'application/json');
    proxyReq.setHeader('content-length', exchange.payload.length);
    if (exchange.llmReq.stream) proxyReq.setHeader('accept', this.format.streamFraming === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream');
    applyAuthHeader(proxyReq, req.headers, this.config.auth);
    exchange.deadlines = new UpstreamDeadlines(proxyReq, this.config, () => {
      exchange.timedOut = true;
    });
    // The transport pipes nothing into the upstream request (lib/proxy.ts): the body ends it.
    proxyReq.end(exchange.payload);
  }

  /** An upstream status that is not a final 2xx/4xx/5xx answer cannot be relayed (Node may even throw on it). */
  private refuseStatus(res: ServerResponse, exchange: Exchange, status: number | undefined): void {
    const error = badUpstreamStatusError(status);
    log('upstream status refused: %s', status);
    exchange.obs.upstreamEnded(res);
    sendError(res, error, modelHeader(this.parts, exchange));
    reportStatistics(this.config, exchange, error.status, undefined, undefined, { upstreamStatus: status });
  }

  private readonly onProxyRes = (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void => {
    const exchange = exchangeOf(req);
    if (!exchange) return;
    exchange.deadlines?.started();
    if (!isRelayableStatus(proxyRes.statusCode)) {
      proxyRes.destroy();
      this.refuseStatus(res, exchange, proxyRes.statusCode);
      return;
    }
    const status = proxyRes.statusCode;
    if (status === 404 && this.pathAdvice) {
      proxyRes.resume();
      exchange.obs.upstreamEnded(res);
      sendError(
        res,
        new ProxyError(404, `the upstream answered 404: ${this.pathAdvice}`, 'invalid_request_error', 'upstream_path_not_found'),
        modelHeader(this.parts, exchange),
      );
      reportStatistics(this.config, exchange, 404, undefined, undefined, { upstreamStatus: 404 });
      return;
    }
    const streaming = exchange.llmReq.stream && status >= 200 && status < 300;
    exchange.obs.upstreamResponded(res, streaming);
    if (streaming) {
      relayStream(proxyRes, res, exchange, this.parts);
      return;
    }
    relayJson(proxyRes, res, exchange, this.parts, this.failUpstream);
  };

  private readonly onError = (err: Error & { code?: string }, req: IncomingMessage, res: ServerResponse): void => {
    const exchange = exchangeOf(req);
    if (!exchange) {
      sendError(res, new ProxyError(502, 'the upstream could not be reached', 'api_error', 'upstream_unreachable'));
      return;
    }
    this.failUpstream(res, exchange, err);
  };

  /** Refused, reset, timed out or too large: 502 or 504, never a hang. */
  private readonly failUpstream = (res: ServerResponse, exchange: Exchange, err: Error & { code?: string }): void => {
    // Headers go out early only for streams, whose relay ends them with an error frame itself.
    if (res.headersSent) return;
    if (exchange.clientGone || res.req?.socket?.destroyed) {
      // Nobody to answer: 499, nginx's "client closed request", for the statistics only.
      exchange.clientGone = true;
      reportStatistics(this.config, exchange, 499, undefined, undefined);
      return;
    }
    const error = exchange.timedOut
      ? new ProxyError(504, timeoutMessage(exchange.deadlines?.expired, this.config), 'api_error', 'upstream_timeout')
      : new ProxyError(
          502,
          `the upstream could not be reached or failed mid-answer: ${redact(err.code ?? err.message, this.secrets)}`,
          'api_error',
          'upstream_unreachable',
        );
    log('upstream failure: %s', error.message);
    exchange.obs.upstreamEnded(res);
    sendError(res, error, modelHeader(this.parts, exchange), this.secrets);
    reportStatistics(this.config, exchange, error.status, undefined, undefined);
  };
}
