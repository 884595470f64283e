import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { AiProxyMiddleware } from '../ai-proxy';
import { readJsonBody } from '../body';
import { log } from '../debug';
import { errorBody, ProxyError, sendError } from '../errors';
import type { Exchange } from '../exchange';
import { readUpstreamBody } from '../read-upstream';
import { RouteObservability, type Observation } from '../observability/observation';
import { relayJson } from '../relay-json';
import { relayStream } from '../relay-stream';
import { modelHeader } from '../route-parts';
import { reportStatistics } from '../statistics';
import { redact, upstreamError } from '../upstream-error';
import type { Algorithm, Candidate } from './algorithm';
import { sendAttempt, type AttemptFailure, type AttemptLimits } from './attempt';
import { validateBalancedConfig, type ResolvedBalancer } from './config';
import { HashRing } from './hash-ring';
import { hashKey } from './hash-key';
import { HealthChecker } from './health';
import { LeastConnections } from './least-connections';
import { PeakEwma } from './peak-ewma';
import { PriorityGroups } from './priority';
import { WeightedRoundRobin } from './round-robin';
import { TargetRuntime } from './target';
import type { BalancedAiProxyConfig, BalancedAiProxyMiddleware, FailoverCriterion } from './types';

const debug = log.extend('balancer');

/** The response header naming the target that answered (its configured name, never its URL). */
export const TARGET_HEADER = 'x-ai-proxy-target';

/** Longest pause a 429's `Retry-After` may put on a target, ms. */
const MAX_RETRY_AFTER_PAUSE = 60_000;

/** Creates the middleware of a route with several targets (see `aiProxy`). */
export function balancedProxy(config: BalancedAiProxyConfig): BalancedAiProxyMiddleware {
  const route = new BalancedRoute(config);
  const handle = route.handle as BalancedAiProxyMiddleware;
  handle.close = () => route.close();
  return handle;
}

function algorithmFor(b: ResolvedBalancer, targets: TargetRuntime[]): Algorithm {
  switch (b.algorithm) {
    case 'round-robin':
      return new WeightedRoundRobin(targets.length);
    case 'least-connections':
      return new LeastConnections(targets.length);
    case 'lowest-latency':
      return new PeakEwma(targets.length, { exploration: b.latency_exploration, decayMs: b.latency_decay });
    case 'consistent-hashing':
      return new HashRing(targets);
    case 'priority':
      return new PriorityGroups(targets.length);
  }
}

/** A route's targets, algorithm and health checks; one `Dispatch` per request does the rest. */
export class BalancedRoute {
  readonly targets: TargetRuntime[];
  readonly balancer: ResolvedBalancer;
  readonly algorithm: Algorithm;
  readonly limits: AttemptLimits;
  /** Model names the targets configure: a client may ask for any of them. */
  readonly modelNames: Set<string>;
  private readonly health: HealthChecker | undefined;
  private readonly observability: RouteObservability;

  constructor(config: BalancedAiProxyConfig) {
    const resolved = validateBalancedConfig(config);
    this.balancer = resolved.balancer;
    this.targets = resolved.targets.map((t) => new TargetRuntime(t, resolved.balancer));
    this.algorithm = algorithmFor(this.balancer, this.targets);
    this.limits = { connect: this.balancer.connect_timeout, firstByte: this.balancer.upstream_first_byte_timeout, idle: this.balancer.upstream_timeout };
    this.modelNames = new Set(this.targets.map((t) => t.parts.config.model.name).filter((n): n is string => n !== undefined));
    // Request ids, Server-Timing and metrics follow the first target's settings (they are route-wide).
    this.observability = new RouteObservability(this.targets[0]!.parts.config, this.targets[0]!.url);
    this.health = this.balancer.health_checks.enabled ? new HealthChecker(this.targets, this.balancer.health_checks) : undefined;
  }

  readonly handle: AiProxyMiddleware = (req, res, next) => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const obs = this.observability.begin(req, res);
    const first = this.targets[0]!.parts.config;
    try {
      const body = readJsonBody(req, first.max_request_body_size);
      if (body instanceof Promise)
        body.then(
          (b) => this.dispatch(req, res, b, obs),
          (err) => answerFailure(res, err),
        );
      else this.dispatch(req, res, body, obs);
    } catch (err) {
      answerFailure(res, err);
    }
  };

  private dispatch(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, obs: Observation): void {
    try {
      new Dispatch(this, req, res, body, obs).start();
    } catch (err) {
      answerFailure(res, err);
    }
  }

  close(): void {
    this.health?.close();
    for (const t of this.targets) t.limiter.clear();
  }
}

function answerFailure(res: ServerResponse, err: unknown): void {
  if (err instanceof ProxyError) {
    if (err.status === 413) res.setHeader('connection', 'close');
    sendError(res, err);
    return;
  }
  log('internal error: %s', (err as Error)?.message);
  sendError(res, new ProxyError(500, 'internal error in express-ai-proxy', 'api_error'));
}

/**
 * One client request through the balancer: pick a target, wait for a slot if it is busy, send,
 * and on a failure that the criteria allow move to another target, until the answer is committed
 * (any byte of a non-streamed answer, the first content of a stream).
 */
class Dispatch {
  private readonly b: ResolvedBalancer;
  private readonly tried: string[] = [];
  /** Targets tried or refused (queue full / wait too long) for this request. */
  private readonly skip = new Set<number>();
  private attempts = 0;
  private queuedMs = 0;
  private committed = false;
  private ended = false;
  private stream = false;
  private key: string | undefined;
  private proxyReq: ClientRequest | undefined;
  private cancelQueue: (() => void) | undefined;
  private release: (() => void) | undefined;
  private exchange: Exchange | undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private totalExpired = false;
  /** The first target's exchange, built to check the request; used if that target is tried first. */
  private checked: Exchange | undefined;

  constructor(
    private readonly route: BalancedRoute,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly body: Record<string, unknown>,
    private readonly obs: Observation,
  ) {
    this.b = route.balancer;
  }

  private get startedAt(): number {
    return this.obs.startedAt;
  }

  start(): void {
    try {
      // The request is checked once against the first target (400s do not depend on the target).
      this.checked = this.route.targets[0]!.exchange(this.bodyFor(this.route.targets[0]!), this.req.url, this.obs);
      this.stream = this.checked.llmReq.stream;
    } catch (err) {
      answerFailure(this.res, err);
      return;
    }
    if (this.b.algorithm === 'consistent-hashing') this.key = hashKey(this.b.hash_on, this.b.hash_on_header, this.b.hash_messages, this.req.headers, this.body);
    // http-proxy would drop it too: Node has already answered 100-continue.
    delete this.req.headers.expect;
    this.res.once('close', this.onClientClose);
    if (this.b.upstream_total_timeout !== undefined) {
      this.totalTimer = setTimeout(this.onTotalTimeout, this.b.upstream_total_timeout);
      this.totalTimer.unref();
    }
    if (this.stream && this.b.sse_keepalive_interval !== undefined) {
      this.keepAlive = setInterval(this.sendKeepAlive, this.b.sse_keepalive_interval);
      this.keepAlive.unref();
    }
    this.next();
  }

  /** A client naming any target's model is served by whichever target answers, under that target's name. */
  private bodyFor(t: TargetRuntime): Record<string, unknown> {
    const name = t.parts.config.model.name;
    if (name === undefined || typeof this.body.model !== 'string' || this.body.model === name || !this.route.modelNames.has(this.body.model)) return this.body;
    return { ...this.body, model: name };
  }

  /** Whether another attempt may start (count, budget, total time, an untried target). */
  private canRetry(): boolean {
    if (this.ended || this.committed || this.totalExpired) return false;
    if (this.attempts > this.b.retries) return false;
    if (this.b.retry_budget !== undefined && performance.now() - this.startedAt >= this.b.retry_budget) return false;
    const now = performance.now();
    return this.route.targets.some((t) => !this.skip.has(t.index) && t.available(now));
  }

  private next(): void {
    if (this.ended) return;
    const now = performance.now();
    const candidates: TargetRuntime[] = [];
    for (const t of this.route.targets) if (!this.skip.has(t.index) && t.available(now)) candidates.push(t);
    if (candidates.length === 0) {
      this.answerNoTarget(now);
      return;
    }
    const free = this.route.algorithm.sticky ? candidates : candidates.filter((t) => !t.limiter.full);
    const pool = free.length > 0 ? free : candidates;
    const views: Candidate[] = pool.map((t) => ({ index: t.index, weight: t.weight, priority: t.priority, inflight: t.inflight }));
    const chosen = this.route.targets[this.route.algorithm.pick(views, { key: this.key }).index]!;
    if (chosen.limiter.tryAcquire()) {
      this.send(chosen, 0);
      return;
    }
    const queuedAt = performance.now();
    let settled = false;
    const cancel = chosen.limiter.enqueue(
      () => {
        settled = true;
        this.cancelQueue = undefined;
        if (this.ended) {
          chosen.limiter.release();
          return;
        }
        this.send(chosen, performance.now() - queuedAt);
      },
      (why) => {
        settled = true;
        this.cancelQueue = undefined;
        this.queuedMs += performance.now() - queuedAt;
        debug('target %s refused a request: %s', chosen.name, why);
        this.skip.add(chosen.index);
        this.busy = true;
        this.next();
      },
    );
    // A full queue refuses at once, and `next()` may already have queued the request elsewhere.
    if (!settled) this.cancelQueue = cancel;
  }

  private busy = false;

  private send(t: TargetRuntime, waited: number): void {
    this.queuedMs += waited;
    this.attempts++;
    this.skip.add(t.index);
    this.tried.push(t.name);
    t.inflight++;
    let released = false;
    this.release = () => {
      if (released) return;
      released = true;
      t.inflight--;
      t.limiter.release();
    };
    let exchange: Exchange;
    try {
      exchange = t.index === 0 && this.checked !== undefined ? this.checked : t.exchange(this.bodyFor(t), this.req.url, this.obs);
      this.checked = undefined;
    } catch (err) {
      this.release();
      this.finish();
      answerFailure(this.res, err);
      return;
    }
    exchange.balance = { target: t.name, tried_targets: [...this.tried], retries: this.attempts - 1, queued_ms: Math.round(this.queuedMs) };
    this.exchange = exchange;
    if (!this.res.headersSent) this.res.setHeader(TARGET_HEADER, t.name);
    t.breaker?.onSend(performance.now());
    const sentAt = performance.now();
    debug('attempt %d of %s on %s', this.attempts, this.tried.length > 1 ? 'a retried request' : 'a request', t.name);
    try {
      this.proxyReq = sendAttempt(
        t,
        exchange,
        this.req.headers,
        this.route.limits,
        (proxyRes) => this.onResponse(t, exchange, proxyRes, sentAt),
        (kind, err) => this.onAttemptFailure(t, exchange, kind, err),
      );
    } catch (err) {
      // e.g. a header http.request refuses: a failed attempt, never a throw out of an event handler.
      this.onAttemptFailure(t, exchange, 'error', err as Error);
    }
  }

  private onResponse(t: TargetRuntime, exchange: Exchange, proxyRes: IncomingMessage, sentAt: number): void {
    if (this.ended) {
      proxyRes.resume();
      return;
    }
    const status = proxyRes.statusCode ?? 502;
    if (status >= 200 && status < 300) {
      if (this.stream) {
        relayStream(proxyRes, this.res, exchange, t.parts, {
          beforeCommitFailure: () => {
            // The client left: nobody to answer, and not the target's fault.
            if (this.ended) return true;
            t.breaker?.failure(performance.now());
            this.release?.();
            if (!this.may(exchange.timedOut ? 'timeout' : 'error') || !this.canRetry()) return false;
            debug('stream from %s failed before its first content: failing over', t.name);
            this.next();
            return true;
          },
          onCommit: () => {
            this.commit();
            t.breaker?.success();
            this.route.algorithm.observe?.(t.index, performance.now() - sentAt);
          },
          onFinish: (failed) => {
            if (failed && !exchange.clientGone) t.breaker?.failure(performance.now());
            this.finish();
          },
        });
        return;
      }
      t.breaker?.success();
      this.route.algorithm.observe?.(t.index, performance.now() - sentAt);
      relayJson(proxyRes, this.res, exchange, t.parts, (_res, ex, err) => this.onBodyFailure(t, ex, err));
      return;
    }
    // 429 and 5xx, including a fast "server busy" 503, count against the target; client errors do not.
    if (status === 429 || status >= 500) t.breaker?.failure(performance.now());
    if (status === 429) this.pauseFor429(t, proxyRes.headers['retry-after']);
    if (this.may(`http_${status}` as FailoverCriterion) && this.canRetry()) {
      debug('target %s answered %d: failing over', t.name, status);
      proxyRes.resume();
      this.release?.();
      this.next();
      return;
    }
    if (this.res.headersSent) {
      // Keep-alive comments already began the stream: the upstream's error becomes an error event.
      readUpstreamBody(proxyRes, t.parts.config.max_response_body_size, (_err, text) => {
        const e = upstreamError(status, proxyRes.headers['content-type'], text, t.parts.secrets);
        this.endWithError(e, exchange, t);
      });
      return;
    }
    this.commit();
    relayJson(proxyRes, this.res, exchange, t.parts, (_res, ex, err) => this.onBodyFailure(t, ex, err));
  }

  /** A 429's Retry-After keeps the target out of the rotation for that long (capped). */
  private pauseFor429(t: TargetRuntime, retryAfter: string | undefined): void {
    const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
    if (!Number.isFinite(seconds) || seconds <= 0) return;
    t.pausedUntil = performance.now() + Math.min(seconds * 1000, MAX_RETRY_AFTER_PAUSE);
  }

  /** Connecting or sending failed, or no answer came in time. */
  private onAttemptFailure(t: TargetRuntime, exchange: Exchange, kind: AttemptFailure, err: Error & { code?: string }): void {
    if (this.ended) return;
    t.breaker?.failure(performance.now());
    this.release?.();
    if (this.may(kind) && this.canRetry()) {
      debug('target %s failed (%s): failing over', t.name, err.code ?? err.message);
      this.next();
      return;
    }
    this.endWithError(this.transportError(t, kind, err), exchange, t);
  }

  /** A non-streamed answer broke off (or was too large) while being read. */
  private onBodyFailure(t: TargetRuntime, exchange: Exchange, err: Error & { code?: string }): void {
    if (this.ended) return;
    t.breaker?.failure(performance.now());
    this.release?.();
    if (!this.res.headersSent && this.may(exchange.timedOut ? 'timeout' : 'error') && this.canRetry()) {
      this.next();
      return;
    }
    this.endWithError(this.transportError(t, exchange.timedOut ? 'timeout' : 'error', err), exchange, t);
  }

  private transportError(t: TargetRuntime, kind: AttemptFailure, err: Error & { code?: string }): ProxyError {
    if (this.totalExpired)
      return new ProxyError(504, `no answer within ${this.b.upstream_total_timeout} ms (upstream_total_timeout)`, 'api_error', 'upstream_timeout');
    if (kind === 'timeout') return new ProxyError(504, `target ${t.name} timed out: ${redact(err.message, t.parts.secrets)}`, 'api_error', 'upstream_timeout');
    return new ProxyError(
      502,
      `target ${t.name} could not be reached or failed mid-answer: ${redact(err.code ?? err.message, t.parts.secrets)}`,
      'api_error',
      'upstream_unreachable',
    );
  }

  private may(criterion: FailoverCriterion): boolean {
    return this.b.failover_criteria.includes(criterion);
  }

  /** No target may take the request: all breakers open, all unhealthy, or all queues refused. */
  private answerNoTarget(now: number): void {
    let wait = Infinity;
    for (const t of this.route.targets) {
      const open = t.breaker?.retryAfter(now) ?? 0;
      const paused = Math.max(0, t.pausedUntil - now);
      wait = Math.min(wait, Math.max(open, paused) || (t.healthy ? 0 : this.b.health_checks.interval));
    }
    const retryAfter = String(Math.max(1, Math.ceil((Number.isFinite(wait) ? wait : 1000) / 1000)));
    // No target serves this answer (an earlier attempt's name would mislead).
    if (!this.res.headersSent) this.res.removeHeader(TARGET_HEADER);
    const err = this.busy
      ? new ProxyError(503, 'every target of this route is busy and its queue is full or the wait was too long', 'api_error', 'targets_busy')
      : new ProxyError(503, 'no target of this route is available (circuit breakers open or health checks failing)', 'api_error', 'no_target_available');
    this.endWithError(err, this.exchange, undefined, { 'retry-after': retryAfter });
  }

  /** The final error: a JSON error, or an SSE error event when keep-alive comments began the answer. */
  private endWithError(err: ProxyError, exchange: Exchange | undefined, t: TargetRuntime | undefined, headers?: Record<string, string>): void {
    if (this.ended) return;
    this.finish();
    log('balanced request failed: %s', err.message);
    if (!this.res.headersSent) {
      sendError(this.res, err, { ...headers, ...(exchange && t ? modelHeader(t.parts, exchange) : undefined) });
    } else if (!this.res.writableEnded) {
      this.res.end(`data: ${JSON.stringify(errorBody(err.message, err.type, err.code))}\n\n`);
    }
    if (exchange && t) reportStatistics(t.parts.config, exchange, err.status, undefined, undefined);
  }

  private commit(): void {
    this.committed = true;
    this.stopKeepAlive();
  }

  /** The request is over for the balancer: timers stopped, its slot given back. */
  private finish(): void {
    this.ended = true;
    this.stopKeepAlive();
    clearTimeout(this.totalTimer);
    this.cancelQueue?.();
    this.release?.();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive === undefined) return;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  private readonly sendKeepAlive = (): void => {
    if (this.committed || this.ended || this.res.writableEnded) {
      this.stopKeepAlive();
      return;
    }
    if (!this.res.headersSent) {
      // The target is not known yet and may change: no target header on an early-started stream.
      this.res.removeHeader(TARGET_HEADER);
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    }
    this.res.write(': keep-alive\n\n');
  };

  private readonly onTotalTimeout = (): void => {
    this.totalExpired = true;
    if (this.ended) return;
    if (this.cancelQueue) {
      this.endWithError(
        new ProxyError(504, `no answer within ${this.b.upstream_total_timeout} ms (upstream_total_timeout)`, 'api_error', 'upstream_timeout'),
        this.exchange,
        undefined,
      );
      return;
    }
    if (this.exchange) this.exchange.timedOut = true;
    this.proxyReq?.destroy(Object.assign(new Error('total time limit reached'), { code: 'ETIMEDOUT' }));
  };

  /** The client left: stop waiting, stop the upstream, give the slot back. */
  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) {
      this.finish();
      return;
    }
    if (this.exchange) this.exchange.clientGone = true;
    this.finish();
    this.proxyReq?.destroy();
  };
}
