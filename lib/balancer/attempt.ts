import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { UpstreamDeadlines, type UpstreamLimits } from '../deadlines/upstream-deadlines';
import type { Exchange } from '../exchange';
import type { TargetRuntime } from './target';

/** Time limits of one attempt, ms: the route's upstream limits (the same clocks as a single route) plus connecting. */
export interface AttemptLimits extends UpstreamLimits {
  connect: number;
}

/**
 * How an attempt failed before its answer began: `status` is an answer that is not a final
 * 2xx/4xx/5xx (a 101 arrives as Node's `upgrade` event); the error then carries it as `status`.
 */
export type AttemptFailure = 'error' | 'timeout' | 'status';

/** An attempt's failure; `status` for a `status` failure, `connect` when the connect limit ended it. */
export type AttemptError = Error & { code?: string; status?: number; connect?: boolean };

/**
 * Sends one request to one target. Each attempt has its own upstream request, so the late events
 * of an abandoned attempt never reach the next one (the reason a balanced route does not go through
 * the shared http-proxy transport, whose events are keyed by the client's request). Everything else
 * is what a single route does: the same keep-alive agents, header policy and auth
 * (`TargetRuntime.prepare`), and the same first-byte, idle and total clocks (`UpstreamDeadlines`,
 * on `exchange.deadlines`, which the relays read).
 */
export function sendAttempt(
  target: TargetRuntime,
  exchange: Exchange,
  clientHeaders: IncomingHttpHeaders,
  limits: AttemptLimits,
  onResponse: (proxyRes: IncomingMessage) => void,
  onFailure: (kind: AttemptFailure, err: AttemptError) => void,
): ClientRequest {
  const url = target.url;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request({
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    method: 'POST',
    path: exchange.path,
    agent: target.agent,
  });
  exchange.proxyReq = req;
  let answered = false;
  let connect: NodeJS.Timeout | undefined;
  let failure: { kind: AttemptFailure; err: AttemptError } | undefined;
  // Attached before anything may throw: an error event without a listener would end the process.
  req.on('error', (err: AttemptError) => {
    clearTimeout(connect);
    // Once answered, the relay sees the failure on the response itself.
    if (answered) return;
    answered = true;
    if (failure) onFailure(failure.kind, failure.err);
    else onFailure(exchange.timedOut ? 'timeout' : 'error', err);
  });
  try {
    target.prepare(req, clientHeaders, exchange);
  } catch (err) {
    // e.g. a header value http.request refuses: a failed attempt, never a throw out of an event handler.
    req.destroy(err as Error);
    return req;
  }
  exchange.deadlines = new UpstreamDeadlines(req, limits, () => {
    exchange.timedOut = true;
  });
  req.on('socket', (socket) => {
    if (!socket.connecting) return;
    connect = setTimeout(() => {
      exchange.timedOut = true;
      failure = {
        kind: 'timeout',
        err: Object.assign(new Error(`could not connect within ${limits.connect} ms (connect_timeout)`), { code: 'ETIMEDOUT', connect: true }),
      };
      req.destroy(failure.err);
    }, limits.connect);
    connect.unref();
    socket.once('connect', () => clearTimeout(connect));
  });
  // Node reports a 101 as `upgrade`, not `response`: unanswered, the request would hang.
  req.once('upgrade', (proxyRes: IncomingMessage, socket: Socket) => {
    socket.destroy();
    failure = { kind: 'status', err: Object.assign(new Error(`status ${proxyRes.statusCode}`), { status: proxyRes.statusCode }) };
    req.destroy();
    if (!answered) {
      answered = true;
      onFailure(failure.kind, failure.err);
    }
  });
  req.on('response', (proxyRes) => {
    answered = true;
    clearTimeout(connect);
    exchange.deadlines?.started();
    onResponse(proxyRes);
  });
  req.end(exchange.payload);
  return req;
}
