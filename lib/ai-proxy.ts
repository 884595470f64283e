import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { applyAuthBody, applyAuthHeader, queryAuthIsPerRequest, secretsOf, withAuthQuery } from './auth';
import { readJsonBody } from './body';
import { validateConfig, type ResolvedConfig } from './config';
import { log } from './debug';
import { ProxyError, sendError } from './errors';
import { attachExchange, exchangeOf, type Exchange } from './exchange';
import type { Format, FormatContext } from './formats/format';
import { getFormat, rawDialectFor, rawStreamPath } from './formats';
import { toLlmRequest } from './llm-request';
import { defaultAgent, proxyTarget, transportFor, type Transport, type UpstreamTarget } from './proxy';
import { reportStatistics } from './statistics';
import { relayJson } from './relay-json';
import { relayStream } from './relay-stream';
import { modelHeader, type RouteParts } from './route-parts';
import type { AiProxyConfig } from './types';
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
export function aiProxy(config: AiProxyConfig): AiProxyMiddleware {
  const route = new Route(validateConfig(config));
  return route.handle;
}

function upstreamOf(req: IncomingMessage): UpstreamTarget | undefined {
  return exchangeOf(req)?.upstream;
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
  private readonly transport: Transport;
  private readonly secrets: string[];
  private readonly parts: RouteParts;
  private readonly upstream: UpstreamTarget;
  /** Upstream paths, without and with streaming; query auth already in them unless it is per request. */
  private basePath: string;
  private streamPath: string;
  private readonly pathPerRequest: boolean;

  constructor(private readonly config: ResolvedConfig) {
    const options = config.model.options;
    const url = new URL(options.upstream_url);
    const rawDialect = rawDialectFor(url.pathname, options.raw_dialect);
    this.format = getFormat(options.llama2_format);
    this.ctx = { routeType: config.route_type, format: options.llama2_format, rawDialect };
    this.secrets = secretsOf(config.auth);
    hideInLogs(this.secrets);
    this.parts = { config, format: this.format, ctx: this.ctx, secrets: this.secrets };
    const streamPathname = options.llama2_format === 'raw' ? rawStreamPath(url.pathname, rawDialect) : url.pathname;
    this.pathPerRequest = queryAuthIsPerRequest(config.auth);
    this.basePath = url.pathname + url.search;
    this.streamPath = streamPathname + url.search;
    if (!this.pathPerRequest) {
      this.basePath = withAuthQuery(this.basePath, undefined, config.auth);
      this.streamPath = withAuthQuery(this.streamPath, undefined, config.auth);
    }
    this.upstream = {
      target: proxyTarget(url),
      handlers: { onProxyReq: this.onProxyReq, onProxyRes: this.onProxyRes, onError: this.onError },
    };
    this.transport = transportFor(config.agent ?? defaultAgent(url), upstreamOf);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const startedAt = performance.now();
    try {
      const body = readJsonBody(req, this.config.max_request_body_size);
      if (body instanceof Promise) body.then((b) => this.forward(req, res, next, b, startedAt), (err) => this.fail(res, err));
      else this.forward(req, res, next, body, startedAt);
    } catch (err) {
      this.fail(res, err);
    }
  };

  private forward(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void, body: Record<string, unknown>, startedAt: number): void {
    try {
      const llmReq = toLlmRequest(body, this.config);
      const upstreamBody = this.format.toUpstream(llmReq, this.ctx);
      applyAuthBody(upstreamBody, body, this.config.auth);
      let path = llmReq.stream ? this.streamPath : this.basePath;
      if (this.pathPerRequest) path = withAuthQuery(path, req.url, this.config.auth);
      const exchange: Exchange = {
        llmReq,
        payload: Buffer.from(JSON.stringify(upstreamBody)),
        path,
        upstream: this.upstream,
        startedAt,
        proxyReq: undefined,
        timedOut: false,
        clientGone: false,
      };
      attachExchange(req, exchange);
      // http-proxy skips its proxyReq hook (where the body is written) when `Expect` is set;
      // Node has already answered 100-continue to the client.
      delete req.headers.expect;
      res.once('close', abortUpstreamIfUnfinished);
      this.transport(req, res, next);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof ProxyError) {
      if (err.status === 413) res.setHeader('connection', 'close');
      sendError(res, err);
      return;
    }
    log('internal error: %s', (err as Error)?.message);
    sendError(res, new ProxyError(500, 'internal error in express-ai-proxy', 'api_error'));
  }

  private readonly onProxyReq = (proxyReq: ClientRequest, req: IncomingMessage): void => {
    const exchange = exchangeOf(req);
    if (!exchange) return;
    if (exchange.clientGone) {
      // The client left while we were still connecting: no answer is wanted any more.
      proxyReq.destroy();
      return;
    }
    try {
      this.prepareUpstreamRequest(proxyReq, req, exchange);
    } catch (err) {
      // A throw here would escape http-proxy's event and take the process down: fail the request instead.
      log('could not prepare the upstream request: %s', (err as Error).message);
      proxyReq.destroy(err as Error);
    }
  };

  private prepareUpstreamRequest(proxyReq: ClientRequest, req: IncomingMessage, exchange: Exchange): void {
    exchange.proxyReq = proxyReq;
    if (proxyReq.path !== exchange.path) proxyReq.path = exchange.path;
    proxyReq.removeHeader('transfer-encoding');
    proxyReq.removeHeader('connection');
    // We read the answer ourselves; a compressed one would need inflating first.
    proxyReq.removeHeader('accept-encoding');
    proxyReq.setHeader('content-type', 'application/json');
    proxyReq.setHeader('content-length', exchange.payload.length);
    if (exchange.llmReq.stream) proxyReq.setHeader('accept', this.format.streamFraming === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream');
    applyAuthHeader(proxyReq, req.headers, this.config.auth);
    exchange.deadlines = new UpstreamDeadlines(proxyReq, this.config, () => {
      exchange.timedOut = true;
    });
    proxyReq.write(exchange.payload);
  }

  private readonly onProxyRes = (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void => {
    const exchange = exchangeOf(req);
    if (!exchange) return;
    exchange.deadlines?.started();
    const status = proxyRes.statusCode ?? 502;
    if (exchange.llmReq.stream && status >= 200 && status < 300) {
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
    const error = exchange.timedOut
      ? new ProxyError(504, timeoutMessage(exchange.deadlines?.expired, this.config), 'api_error', 'upstream_timeout')
      : new ProxyError(502, `the upstream could not be reached or failed mid-answer: ${redact(err.code ?? err.message, this.secrets)}`, 'api_error', 'upstream_unreachable');
    log('upstream failure: %s', error.message);
    sendError(res, error, modelHeader(this.parts, exchange), this.secrets);
    reportStatistics(this.config, exchange, error.status, undefined, undefined);
  };
}
