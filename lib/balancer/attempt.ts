import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Exchange } from '../exchange';
import type { TargetRuntime } from './target';

/** Time limits of one attempt, ms. */
export interface AttemptLimits {
  connect: number;
  firstByte: number;
  idle: number;
}

/** How an attempt failed before its answer began. */
export type AttemptFailure = 'error' | 'timeout';

/**
 * Sends one request to one target. Each attempt has its own upstream request, so the late events
 * of an abandoned attempt never reach the next one (the reason a balanced route does not go through
 * the shared http-proxy transport, whose events are keyed by the client's request). Uses the same
 * keep-alive agents as single-upstream routes.
 */
export function sendAttempt(
  target: TargetRuntime,
  exchange: Exchange,
  clientHeaders: IncomingHttpHeaders,
  limits: AttemptLimits,
  onResponse: (proxyRes: IncomingMessage) => void,
  onFailure: (kind: AttemptFailure, err: Error & { code?: string }) => void,
): ClientRequest {
  const url = target.url;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request({
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    method: 'POST',
    path: exchange.path,
    headers: target.headers(clientHeaders, exchange),
    agent: target.agent,
  });
  exchange.proxyReq = req;
  let answered = false;
  const timeout = (what: string) => () => {
    exchange.timedOut = true;
    req.destroy(Object.assign(new Error(`${what} timed out`), { code: 'ETIMEDOUT' }));
  };
  const firstByte = setTimeout(timeout('first byte'), limits.firstByte);
  firstByte.unref();
  let connect: NodeJS.Timeout | undefined;
  req.on('socket', (socket) => {
    if (!socket.connecting) return;
    connect = setTimeout(timeout('connect'), limits.connect);
    connect.unref();
    socket.once('connect', () => clearTimeout(connect));
  });
  req.on('response', (proxyRes) => {
    answered = true;
    clearTimeout(firstByte);
    clearTimeout(connect);
    req.setTimeout(limits.idle, timeout('idle'));
    onResponse(proxyRes);
  });
  req.on('error', (err: Error & { code?: string }) => {
    clearTimeout(firstByte);
    clearTimeout(connect);
    // Once answered, the relay sees the failure on the response itself.
    if (!answered) onFailure(exchange.timedOut ? 'timeout' : 'error', err);
  });
  req.end(exchange.payload);
  return req;
}
