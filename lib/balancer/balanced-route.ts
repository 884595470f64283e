import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { AiProxyMiddleware } from '../ai-proxy';
import { readJsonBody } from '../body';
import { log } from '../debug';
import { timeoutMessage } from '../deadlines/upstream-deadlines';
import { errorBody, ProxyError, sendError } from '../errors';
import type { Exchange } from '../exchange';
import { safeHeaderValue } from '../headers/header-value';
import { readUpstreamBody } from '../read-upstream';
import { RouteObservability, type Observation } from '../observability/observation';
import { redactorOf } from '../redact';
import { relayJson } from '../relay-json';
import { relayStream } from '../relay-stream';
import { modelHeader } from '../route-parts';
import { reportRefusal, reportStatistics, type StatisticsDetail } from '../statistics';
import { badUpstreamStatusError, isRelayableStatus } from '../upstream-status';
import { redact, upstreamError } from '../upstream-error';
import type { Algorithm, Candidate } from './algorithm';
import { sendAttempt, type AttemptError, type AttemptFailure, type AttemptLimits } from './attempt';
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
  /** Every target's configured secrets: errors not from one target pass them all. */
  readonly secrets: string[];
  private readonly health: HealthChecker | undefined;
  private readonly observability: RouteObservability;

  constructor(config: BalancedAiProxyConfig) {
    const resolved = validateBalancedConfig(config);
    this.balancer = resolved.balancer;
    this.targets = resolved.targets.map((t) => new TargetRuntime(t, resolved.balancer));
    this.algorithm = algorithmFor(this.balancer, this.targets);
    this.limits = {
      connect: this.balancer.connect_timeout,
      upstream_first_byte_timeout: this.balancer.upstream_first_byte_timeout,
      upstream_timeout: this.balancer.upstream_timeout,
      upstream_total_timeout: this.balancer.upstream_total_timeout,
    };
    this.secrets = [...new Set(this.targets.flatMap((t) => t.parts.secrets))];
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
      const body = readJsonBody(req, first.max_request_body_size, first.request_body_timeout);
      if (body instanceof Promise)
        body.then(
          (b) => this.dispatch(req, res, b, obs),
          (err) => this.fail(res, err, obs, undefined),
        );
      else this.dispatch(req, res, body, obs);
    } catch (err) {
      this.fail(res, err, obs, undefined);
    }
  };

  private dispatch(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, obs: Observation): void {
    try {
      new Dispatch(this, req, res, body, obs).start();
    } catch (err) {
      this.fail(res, err, obs, body);
    }
  }

  /** The proxy's own refusal (bad or slow body, a field no target honours, an internal error), reported as a single route does. */
  fail(res: ServerResponse, err: unknown, obs: Observation, body: Record<string, unknown> | undefined): void {
    obs.setServerTiming(res);
    const config = this.targets[0]!.parts.config;
    if (err instanceof ProxyError) {
      // The rest of the body is not read: close rather than leave the connection to what the client still sends.
      if (err.status === 408 || err.status === 413 || err.status === 415) res.setHeader('connection', 'close');
      sendError(res, err, undefined, this.secrets);
      reportRefusal(config, obs, err.status, body);
      return;
    }
    log('internal error: %s', (err as Error)?.message);
    sendError(res, new ProxyError(500, 'internal error in express-ai-proxy', 'api_error'), undefined, this.secrets);
    reportRefusal(config, obs, 500, body);
  }

  close(): void {
    this.health?.close();
    for (const t of this.targets) t.limiter.clear();
  }
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
  /** When the balancer took the request: `upstream_total_timeout` counts from here, over every attempt and wait. */
  private dispatchedAt = 0;
  /** The exchange built to check the request, for the target `checkedBy`; used if that target is tried first. */
  private checked: Exchange | undefined;
  private checkedBy = -1;
  /** The first target's refusal of the request (a field its contract refuses): the answer if no target takes it. */
  private refusal: ProxyError | undefined;

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
    // The request is checked against the targets in config order until one can honour it: a target
    // whose field contract refuses it never gets it; if none can, the first one's 400 is the answer.
    for (const t of this.route.targets) {
      try {
        this.checked = t.exchange(this.bodyFor(t), this.req.url, this.obs);
        this.checkedBy = t.index;
        break;
      } catch (err) {
        if (!this.unfit(t, err)) {
          this.route.fail(this.res, err, this.obs, this.body);
          return;
        }
      }
    }
    if (this.checked === undefined) {
      this.route.fail(this.res, this.refusal, this.obs, this.body);
      return;
    }
    this.stream = this.checked.llmReq.stream;
    if (this.b.algorithm === 'consistent-hashing') this.key = hashKey(this.b.hash_on, this.b.hash_on_header, this.b.hash_messages, this.req.headers, this.body);
    // http-proxy would drop it too: Node has already answered 100-continue.
    delete this.req.headers.expect;
    this.res.once('close', this.onClientClose);
    this.dispatchedAt = performance.now();
    this.totalTimer = setTimeout(this.onTotalTimeout, this.b.upstream_total_timeout);
    this.totalTimer.unref();
    if (this.stream && this.b.sse_keepalive_interval !== undefined) {
      this.keepAlive = setInterval(this.sendKeepAlive, this.b.sse_keepalive_interval);
      this.keepAlive.unref();
    }
    this.next();
  }

  /** A 400 from a target's request checks: that target cannot serve the request (true), else a failure to answer. */
  private unfit(t: TargetRuntime, err: unknown): boolean {
    if (!(err instanceof ProxyError) || err.status !== 400) return false;
    this.refusal ??= err;
    this.skip.add(t.index);
    return true;
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
    let exchange: Exchange;
    try {
      exchange = t.index === this.checkedBy && this.checked !== undefined ? this.checked : t.exchange(this.bodyFor(t), this.req.url, this.obs);
      if (t.index === this.checkedBy) this.checked = undefined;
    } catch (err) {
      t.limiter.release();
      if (this.unfit(t, err)) {
        // Not an attempt: this target cannot honour the request; another may.
        this.queuedMs += waited;
        this.next();
        return;
      }
      this.finish();
      this.route.fail(this.res, err, this.obs, this.body);
      return;
    }
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
    exchange.balance = { target: t.name, tried_targets: [...this.tried], retries: this.attempts - 1, queued_ms: Math.round(this.queuedMs) };
    this.exchange = exchange;
    if (!this.res.headersSent) this.res.setHeader(TARGET_HEADER, safeHeaderValue(t.name));
    t.breaker?.onSend(performance.now());
    const sentAt = performance.now();
    debug('attempt %d of %s on %s', this.attempts, this.tried.length > 1 ? 'a retried request' : 'a request', t.name);
    // The same total clock as the whole request: an attempt reaching it says `upstream_total_timeout`.
    const left = Math.max(1, Math.ceil(this.b.upstream_total_timeout - (performance.now() - this.dispatchedAt)));
    try {
      this.proxyReq = sendAttempt(
        t,
        exchange,
        this.req.headers,
        { ...this.route.limits, upstream_total_timeout: left },
        (proxyRes) => this.onResponse(t, exchange, proxyRes, sentAt),
        (kind, err) => this.onAttemptFailure(t, exchange, kind, err),
      );
    } catch (err) {
      // e.g. a request http.request refuses: a failed attempt, never a throw out of an event handler.
      this.onAttemptFailure(t, exchange, 'error', err as Error);
    }
  }

  private onResponse(t: TargetRuntime, exchange: Exchange, proxyRes: IncomingMessage, sentAt: number): void {
    if (this.ended) {
      proxyRes.resume();
      return;
    }
    const status = proxyRes.statusCode;
    if (!isRelayableStatus(status)) {
      // 1xx, 3xx, out of range: not an answer to relay (a 502 on a single route); the target failed.
      proxyRes.destroy();
      this.onAttemptFailure(t, exchange, 'status', Object.assign(new Error(`status ${status}`), { status }));
      return;
    }
    if (status >= 200 && status < 300) {
      this.obs.upstreamResponded(this.res, this.stream);
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
        this.endWithError(e, exchange, t, undefined, { upstreamStatus: status });
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

  /**
   * Connecting or sending failed, no answer came in time, or the answer's status cannot be relayed
   * (a 3xx, 1xx or out-of-range status counts as the `error` criterion: the target did not answer).
   */
  private onAttemptFailure(t: TargetRuntime, exchange: Exchange, kind: AttemptFailure, err: AttemptError): void {
    if (this.ended) return;
    t.breaker?.failure(performance.now());
    this.release?.();
    if (this.may(kind === 'status' ? 'error' : kind) && this.canRetry()) {
      debug('target %s failed (%s): failing over', t.name, err.code ?? err.message);
      this.next();
      return;
    }
    this.endWithError(this.transportError(t, exchange, kind, err), exchange, t, undefined, kind === 'status' ? { upstreamStatus: err.status } : {});
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
    this.endWithError(this.transportError(t, exchange, exchange.timedOut ? 'timeout' : 'error', err), exchange, t);
  }

  /** The error a single route gives for the same failure (same messages and codes). */
  private transportError(t: TargetRuntime, exchange: Exchange, kind: AttemptFailure, err: AttemptError): ProxyError {
    if (kind === 'status') return badUpstreamStatusError(err.status);
    const expired = exchange.deadlines?.expired ?? (this.totalExpired ? 'upstream_total_timeout' : undefined);
    if (expired !== undefined || (kind === 'timeout' && !err.connect))
      return new ProxyError(504, timeoutMessage(expired, t.parts.config), 'api_error', 'upstream_timeout');
    if (kind === 'timeout') return new ProxyError(504, `the upstream ${redact(err.message, t.parts.secrets)}`, 'api_error', 'upstream_timeout');
    return new ProxyError(
      502,
      `the upstream could not be reached or failed mid-answer: ${redact(err.code ?? err.message, t.parts.secrets)}`,
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

  /**
   * The final error: a JSON error, or an SSE error event when keep-alive comments began the answer;
   * either passes the redactor of the target's secrets (of every target's when none answered).
   */
  private endWithError(
    err: ProxyError,
    exchange: Exchange | undefined,
    t: TargetRuntime | undefined,
    headers?: Record<string, string>,
    detail?: StatisticsDetail,
  ): void {
    if (this.ended) return;
    this.finish();
    log('balanced request failed: %s', err.message);
    const secrets = t?.parts.secrets ?? this.route.secrets;
    if (!this.res.headersSent) {
      this.obs.upstreamEnded(this.res);
      sendError(this.res, err, { ...headers, ...(exchange && t ? modelHeader(t.parts, exchange) : undefined) }, secrets);
    } else if (!this.res.writableEnded) {
      this.res.end(redactorOf(secrets).redact(`data: ${JSON.stringify(errorBody(err.message, err.type, err.code))}\n\n`));
    }
    const reported = exchange ?? this.checked;
    if (reported) reportStatistics(t?.parts.config ?? this.route.targets[0]!.parts.config, reported, err.status, undefined, undefined, detail);
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
    // An attempt on the wire has the same total clock (its UpstreamDeadlines): it ends itself, naming the limit.
    if (this.proxyReq !== undefined && !this.proxyReq.destroyed && this.exchange?.deadlines !== undefined) return;
    // Waiting in a queue, or between attempts.
    this.endWithError(
      new ProxyError(504, timeoutMessage('upstream_total_timeout', this.route.targets[0]!.parts.config), 'api_error', 'upstream_timeout'),
      this.exchange,
      undefined,
    );
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
