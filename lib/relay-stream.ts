import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from './config';
import type { Exchange } from './exchange';
import { completionId, nowSeconds } from './formats';
import { modelHeader, type RouteParts } from './route-parts';
import { reportStatistics } from './statistics';
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
 */
export function relayStream(proxyRes: IncomingMessage, res: ServerResponse, exchange: Exchange, parts: RouteParts, hooks?: StreamCommitHooks): void {
  const translator = new StreamTranslator(parts.format, exchange.llmReq, parts.ctx, {
    id: completionId(parts.ctx.routeType),
    created: nowSeconds(),
    model: exchange.llmReq.model,
  });
  new StreamRelay(proxyRes, res, exchange, parts.config, translator, hooks).start(modelHeader(parts, exchange));
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

  constructor(
    private readonly proxyRes: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly exchange: Exchange,
    private readonly config: ResolvedConfig,
    private readonly translator: StreamTranslator,
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
    if (this.done) return; // After the final frame the rest is read and dropped, so the socket can be reused.
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
      if (!this.res.write(out)) this.proxyRes.pause();
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
    if (!this.res.write(out)) this.proxyRes.pause();
  };

  private readonly onDrain = (): void => {
    this.proxyRes.resume();
  };

  private readonly onEnd = (): void => {
    this.finish(this.translator.end());
  };

  private readonly onClose = (): void => {
    if (!this.proxyRes.complete) this.onUpstreamFailure();
  };

  private readonly onUpstreamFailure = (): void => {
    if (!this.translator.ended) this.cut = true;
    this.finish(
      this.translator.failUpstream(
        this.exchange.timedOut
          ? `the upstream sent nothing for ${this.config.upstream_timeout} ms (upstream_timeout)`
          : 'the upstream connection was lost before the answer was complete',
      ),
    );
  };

  private commit(): void {
    this.committed = true;
    this.hooks!.onCommit();
    this.writeHead();
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
    // Keep reading (and dropping) whatever the upstream still sends.
    this.proxyRes.resume();
    this.exchange.obs.streamEnded();
    // A stream whose content all came in one upstream read gets its first token here.
    if (this.translator.contentChunks > 0) this.exchange.obs.firstToken();
    this.res.end(out || undefined);
    const t = this.translator;
    reportStatistics(this.config, this.exchange, 200, t.usage, undefined, {
      streamEnd: t.outcome,
      upstreamCut: this.cut,
      finishReason: t.finishReason,
      relayedChunks: t.contentChunks,
      upstreamStatus: this.proxyRes.statusCode,
    });
    this.hooks?.onFinish(this.translator.outcome !== 'complete');
  }
}
