import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from './config';
import { log } from './debug';
import { timeoutMessage } from './deadlines/upstream-deadlines';
import type { Exchange } from './exchange';
import { completionId, nowSeconds } from './formats';
import { redactorOf, type Redactor } from './redact';
import { modelHeader, type RouteParts } from './route-parts';
import { reportStatistics, type StatisticsDetail } from './statistics';
import { StreamTranslator } from './stream/stream-translator';

/**
 * Streams a 2xx upstream answer to the client as OpenAI SSE, converting each packet as it arrives.
 * The translator is driven straight from `data` events (no Transform in between: the benchmark
 * showed the extra stream hop costing more than the conversion itself), and the frames of all
 * upstream reads in one event-loop turn leave in one write (an upstream flushing each token
 * arrives in many small reads; writing each one cost more than converting it). Backpressure by
 * hand: the upstream is paused while the client's socket is full. The client leaving destroys the
 * upstream request (`abortUpstreamIfUnfinished`); the upstream dying mid-answer ends the client's
 * stream with an error frame rather than a silent cut.
 *
 * Every write passes the route's redactor. A client that leaves its socket full for
 * `client_write_timeout` is disconnected as a slow client (the upstream's idle clock is stopped
 * while it is held back, so the upstream is never blamed). After the final frame the upstream is
 * read only to its end, briefly: one that keeps sending is closed.
 */
export function relayStream(proxyRes: IncomingMessage, res: ServerResponse, exchange: Exchange, parts: RouteParts, hooks?: StreamCommitHooks): void {
  const translator = new StreamTranslator(parts.format, exchange.llmReq, parts.ctx, {
    id: completionId(parts.ctx.routeType),
    created: nowSeconds(),
    model: exchange.llmReq.model,
  });
  new StreamRelay(proxyRes, res, exchange, parts.config, translator, redactorOf(parts.secrets), hooks).start(modelHeader(parts, exchange));
}

/**
 * The commit point a balanced route (lib/balancer) hooks into: until the first content is written,
 * the answer is held back (a role-only chunk, an empty delta) and a failure may go to another
 * target instead of the client; from the first content on, nothing is retried.
 */
export interface StreamCommitHooks {
  /** The upstream failed before any content was sent: true when the caller takes the request over (nothing was written). */
  beforeCommitFailure(): boolean;
  /** The first content (or a complete empty answer) is about to be written: no retry from here on. */
  onCommit(): void;
  /** The answer ended, complete or with an error frame. */
  onFinish(failed: boolean): void;
}

/** After the final frame, how long and how much the upstream may still send (the end of its chunked body) before it is closed. */
const TRAILING_GRACE_MS = 1000;
const TRAILING_MAX_BYTES = 64 * 1024;

class StreamRelay {
  private done = false;
  private started = false;
  /** The upstream's connection gave out before its final event. */
  private cut = false;
  /** False while a balanced route may still move the request elsewhere (see `StreamCommitHooks`). */
  private committed: boolean;
  /** Frames held back before the commit point. */
  private held = '';
  private headers: Record<string, string> | undefined;
  /** Frames waiting for the end of this event-loop turn. */
  private pending = '';
  /** Running while the client's socket is full. */
  private writeTimer: NodeJS.Timeout | undefined;
  private trailingBytes = 0;

  constructor(
    private readonly proxyRes: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly exchange: Exchange,
    private readonly config: ResolvedConfig,
    private readonly translator: StreamTranslator,
    private readonly redactor: Redactor,
    private readonly hooks?: StreamCommitHooks,
  ) {
    this.committed = hooks === undefined;
  }

  start(modelHeader: Record<string, string> | undefined): void {
    this.headers = modelHeader;
    if (this.committed) this.writeHead();
    // Not flushed on their own: the headers leave with the first frame, one write instead of two.
    this.proxyRes.on('data', this.onData);
    this.proxyRes.on('end', this.onEnd);
    this.proxyRes.on('error', this.onUpstreamFailure);
    this.proxyRes.on('close', this.onClose);
    this.res.on('drain', this.onDrain);
  }

  private writeHead(): void {
    // A balanced route may have sent them already, to write keep-alive comments.
    if (this.res.headersSent) return;
    this.res.writeHead(200, {
      ...this.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      // Tells nginx-style buffering proxies in front of us to pass frames on at once.
      'x-accel-buffering': 'no',
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) {
      // After the final frame the end of the body is read and dropped, so the socket can be reused; no more.
      this.trailingBytes += chunk.length;
      if (this.trailingBytes > TRAILING_MAX_BYTES) this.closeUpstream();
      return;
    }
    let out = this.translator.feed(chunk);
    if (!this.committed && !this.translator.ended) {
      this.held += out;
      if (!this.translator.hasContent) return;
      out = this.held;
      this.held = '';
      this.commit();
    }
    if (this.translator.ended) {
      this.finish(out);
      return;
    }
    if (out.length === 0) return;
    if (!this.started) {
      // The first frame (with the headers) goes at once: time to first token is what users feel.
      this.started = true;
      this.exchange.obs.firstToken();
      this.write(out);
      return;
    }
    // Later frames completed by every upstream read of one event-loop turn leave in one write.
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending += out;
  };

  private readonly flush = (): void => {
    if (this.done || this.pending.length === 0) return;
    const out = this.pending;
    this.pending = '';
    this.write(out);
  };

  private write(out: string): void {
    if (this.res.write(this.redactor.active ? this.redactor.redact(out) : out) || this.writeTimer !== undefined) return;
    // The client's socket is full: hold the upstream back, and give the client its own deadline.
    this.proxyRes.pause();
    this.exchange.deadlines?.hold();
    this.writeTimer = setTimeout(this.onSlowClient, this.config.client_write_timeout);
  }

  private readonly onDrain = (): void => {
    if (this.writeTimer !== undefined) {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
    }
    this.exchange.deadlines?.release();
    this.proxyRes.resume();
  };

  /** The client read nothing for `client_write_timeout`: it is cut off; the upstream is not at fault. */
  private readonly onSlowClient = (): void => {
    this.writeTimer = undefined;
    if (this.done) {
      // The answer ended while the client was not reading, and it still has not read it.
      if (!this.res.writableFinished) this.res.destroy();
      return;
    }
    this.done = true;
    this.pending = '';
    log('slow client: nothing read for %d ms (client_write_timeout); closing its stream', this.config.client_write_timeout);
    this.res.off('drain', this.onDrain);
    this.exchange.clientGone = true;
    this.res.destroy();
    this.closeUpstream();
    this.exchange.obs.streamEnded();
    reportStatistics(this.config, this.exchange, 200, this.translator.usage, undefined, this.detail());
    this.hooks?.onFinish(true);
  };

  private closeUpstream(): void {
    this.proxyRes.off('data', this.onData);
    this.proxyRes.destroy();
    this.exchange.proxyReq?.destroy();
  }

  private readonly onEnd = (): void => {
    this.finish(this.translator.end());
  };

  private readonly onClose = (): void => {
    if (!this.proxyRes.complete) this.onUpstreamFailure();
  };

  private readonly onUpstreamFailure = (): void => {
    if (!this.translator.ended) this.cut = true;
    // Timeouts carry the code a JSON answer would (504 `upstream_timeout`): one path, one behaviour.
    this.finish(
      this.exchange.timedOut
        ? this.translator.failUpstream(timeoutMessage(this.exchange.deadlines?.expired, this.config), 'upstream_timeout')
        : this.translator.failUpstream('the upstream connection was lost before the answer was complete'),
    );
  };

  private commit(): void {
    this.committed = true;
    this.hooks!.onCommit();
    this.writeHead();
  }

  private detail(): StatisticsDetail {
    const t = this.translator;
    return {
      streamEnd: t.outcome,
      upstreamCut: this.cut,
      finishReason: t.finishReason,
      relayedChunks: t.contentChunks,
      upstreamStatus: this.proxyRes.statusCode,
    };
  }

  private finish(last: string): void {
    if (this.done) return;
    if (!this.committed) {
      if (this.translator.outcome !== 'complete' && this.hooks!.beforeCommitFailure()) {
        // Another target takes over: this answer is dropped unseen.
        this.done = true;
        this.res.off('drain', this.onDrain);
        this.proxyRes.destroy();
        return;
      }
      last = this.held + last;
      this.held = '';
      this.commit();
    }
    this.done = true;
    const out = this.pending + last;
    this.pending = '';
    this.res.off('drain', this.onDrain);
    // A running write timer stays: a client that never reads the last frames is still cut off.
    if (!this.proxyRes.complete && !this.proxyRes.destroyed) {
      // Read (and drop) the end of the body for a moment, so a well-behaved upstream keeps its socket.
      this.exchange.deadlines?.release();
      this.proxyRes.resume();
      const timer = setTimeout(() => {
        if (!this.proxyRes.complete) this.closeUpstream();
      }, TRAILING_GRACE_MS);
      timer.unref();
      this.proxyRes.once('close', () => clearTimeout(timer));
    }
    this.exchange.obs.streamEnded();
    // A stream whose content all came in one upstream read gets its first token here.
    if (this.translator.contentChunks > 0) this.exchange.obs.firstToken();
    this.res.end(out ? (this.redactor.active ? this.redactor.redact(out) : out) : undefined);
    reportStatistics(this.config, this.exchange, 200, this.translator.usage, undefined, this.detail());
    this.hooks?.onFinish(this.translator.outcome !== 'complete');
  }
}
