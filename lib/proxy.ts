import { Agent as HttpAgent, type Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Stream } from 'node:stream';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { log } from './debug';
import { dropIdleSockets, IDLE_SOCKET_MS, shouldRetry, type Attempt } from './transport/stale-socket';

/** What the transport calls back with; the only coupling between http-proxy-middleware and the rest. */
export interface TransportHandlers {
  /** The upstream request exists and its headers are not sent yet: write the body and end the request here. */
  onProxyReq(proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void;
  /** Upstream headers arrived; the handler owns the response from here on. */
  onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void;
  /** Connecting or sending failed (refused, reset, timed out). */
  onError(err: Error & { code?: string }, req: IncomingMessage, res: ServerResponse): void;
}

/** Where one request goes and who handles its events (set per request by the route). */
export interface UpstreamTarget {
  target: ProxyTarget;
  handlers: TransportHandlers;
}

/** http-proxy's target: the upstream URL taken apart once. */
export interface ProxyTarget {
  protocol: string;
  host: string;
  hostname: string;
  port: string;
  path: string;
}

export type Transport = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Finds the target of a request (the route stores it on the request before handing it over). */
export type TargetOf = (req: IncomingMessage) => TransportRequest | undefined;

/**
 * What the transport reads of one request: where it goes, and its attempt record (kept by the
 * route with the rest of the request's state: a per-request property added to Node's request
 * object, or a WeakMap entry, cost measurable time in the benchmark).
 */
export interface TransportRequest {
  upstream: UpstreamTarget;
  attempt: Attempt;
}

/** The upstream URL as http-proxy takes it; the URL's own path and query are the whole path sent. */
export function proxyTarget(url: URL): ProxyTarget {
  return {
    protocol: url.protocol,
    host: url.hostname,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
    path: url.pathname + url.search,
  };
}

// Routes without an agent of their own share these, so routes to the same server share its connections.
// `timeout` is how long a socket may sit idle in the pool (see IDLE_SOCKET_MS).
const defaultAgents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

/** The keep-alive agent used when the config names none. */
export function defaultAgent(url: URL): Agent {
  return url.protocol === 'https:' ? defaultAgents.https : defaultAgents.http;
}

// One http-proxy-middleware instance per agent, not per route: each instance adds a `close`
// listener to the HTTP server, and an app with more than ten routes would trip Node's
// MaxListenersExceededWarning.
const transports = new WeakMap<Agent, Transport>();

/**
 * http-proxy-middleware, set up once per agent: keep-alive agent, the per-request target as the
 * whole URL (`ignorePath`, so the mount path never leaks upstream), and responses left to us.
 * Its default plugins are ejected: they log through console and answer errors in HTML/text.
 */
export function transportFor(agent: Agent, targetOf: TargetOf): Transport {
  let transport = transports.get(agent);
  if (transport === undefined) {
    transport = createTransport(agent, targetOf);
    transports.set(agent, transport);
  }
  return transport;
}

/**
 * http-proxy pipes the client's request into the upstream one unless it is given a `buffer` to pipe
 * instead. The route has read the body before the transport runs and sends one of its own, so piping
 * the spent request would only add and remove a dozen listeners (about 40 thousand instructions, 4 %
 * of a request): this stand-in pipes nothing, and the route's `onProxyReq` ends the upstream request
 * with the new body.
 */
const NOTHING_TO_PIPE = { pipe: (): void => undefined } as unknown as Stream;

function createTransport(agent: Agent, targetOf: TargetOf): Transport {
  // The http-proxy options, also for a request sent again (http-proxy-middleware hands them over per
  // request, so a retry must too).
  const sendOptions = { agent, changeOrigin: true, ignorePath: true, selfHandleResponse: true, buffer: NOTHING_TO_PIPE };
  const middleware = createProxyMiddleware<IncomingMessage, ServerResponse>({
    // Replaced per request by `router`; http-proxy-middleware insists on having one.
    target: 'http://127.0.0.1',
    router: (req) => targetOf(req)?.upstream.target,
    ...sendOptions,
    ejectPlugins: true,
    plugins: [
      (proxyServer) => {
        proxyServer.on('proxyReq', (proxyReq, req, res) => {
          const request = targetOf(req);
          if (request === undefined) {
            // No body to send (nothing pipes one any more): fail rather than leave the request open.
            proxyReq.destroy();
            return;
          }
          request.attempt.proxyReq = proxyReq;
          request.upstream.handlers.onProxyReq(proxyReq, req, res);
        });
        proxyServer.on('proxyRes', (proxyRes, req, res) => {
          const request = targetOf(req);
          if (request === undefined) return;
          request.attempt.responded = true;
          request.upstream.handlers.onProxyRes(proxyRes, req, res);
        });
        proxyServer.on('error', (err, req, res) => {
          const request = targetOf(req);
          const upstream = request?.upstream;
          const attempt = request?.attempt;
          if (upstream && attempt && shouldRetry(err, req, res as ServerResponse, attempt)) {
            // A kept-alive connection the server had closed: the same request once more, on a fresh
            // connection (the other idle ones to that server are dropped first). The body was read
            // before the first attempt, so the proxyReq handler writes it again.
            log('retrying on a fresh connection after %s on a reused one', (err as Error & { code?: string }).code);
            attempt.retried = true;
            attempt.proxyReq = undefined;
            dropIdleSockets(agent, upstream.target.hostname, upstream.target.port);
            try {
              proxyServer.web(req, res as ServerResponse, { ...sendOptions, target: upstream.target as never });
              return;
            } catch (retryErr) {
              // Never let a throw escape an event handler: the first failure is answered below.
              log('could not send the request again: %s', (retryErr as Error).message);
            }
          }
          const handlers = upstream?.handlers;
          if (handlers) handlers.onError(err, req, res as ServerResponse);
          else if (!(res as ServerResponse).headersSent) (res as ServerResponse).writeHead(502).end();
        });
        // The client hung up before the upstream answered; http-proxy aborts the upstream itself.
        // The route still hears of it, to report the request (nothing is sent to the gone client).
        proxyServer.on('econnreset', (err, req, res) => targetOf(req)?.upstream.handlers.onError(err, req, res));
      },
    ],
  });
  // The middleware is async and hands its own failures to `next`; should that throw, the rejection
  // must not become an unhandled rejection in the host server: it is a transport failure like any other.
  return (req, res, next) => {
    middleware(req, res, next).catch((err: unknown) => transportFailed(targetOf, req, res, err));
  };
}

function transportFailed(targetOf: TargetOf, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  try {
    const handlers = targetOf(req)?.upstream.handlers;
    if (handlers) {
      handlers.onError(err instanceof Error ? err : new Error(String(err)), req, res);
      return;
    }
  } catch {
    // The route cannot answer for itself: the bare 502 (or closing the connection) below.
  }
  if (!res.headersSent) res.writeHead(502).end();
  else res.destroy();
}
