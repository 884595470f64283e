/** Circuit breaker settings (resolved; see `BalancerConfig.circuit_breaker`). */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  consecutive_failures: number;
  /** Failure share (0..1) over the last `window` requests that opens it, once `min_requests` were seen. */
  failure_rate: number;
  min_requests: number;
  window: number;
  /** How long it stays open before one probe request is let through, ms. */
  cooldown: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * One target's circuit breaker. Closed: everything passes and outcomes are counted. Open: nothing
 * passes until `cooldown` has elapsed. Then exactly one probe passes (half-open): its success
 * closes the breaker, its failure opens it for another cooldown. Pure: the caller passes the clock.
 */
export class Breaker {
  state: BreakerState = 'closed';
  private openedAt = 0;
  private consecutive = 0;
  private probing = false;
  private probeAt = 0;
  /** Last `window` outcomes, true = failure (a ring buffer). */
  private readonly outcomes: boolean[] = [];
  private next = 0;
  private failures = 0;

  constructor(private readonly opts: BreakerOptions) {}

  /** Whether a request may be sent now (does not take the probe: see `onSend`). */
  allows(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return now - this.openedAt >= this.opts.cooldown;
    // A probe whose outcome never came (its client left) does not block the target for good.
    return !this.probing || now - this.probeAt >= this.opts.cooldown;
  }

  /** A request is being sent: after the cooldown, this one is the probe. */
  onSend(now: number): void {
    if (this.state === 'open' && now - this.openedAt >= this.opts.cooldown) this.state = 'half-open';
    if (this.state === 'half-open') {
      this.probing = true;
      this.probeAt = now;
    }
  }

  /** Milliseconds until an open breaker lets a probe through (0 when it would now). */
  retryAfter(now: number): number {
    return this.state === 'open' ? Math.max(0, this.opts.cooldown - (now - this.openedAt)) : 0;
  }

  success(): void {
    this.consecutive = 0;
    if (this.state !== 'closed') {
      this.close();
      return;
    }
    this.record(false);
  }

  failure(now: number): void {
    if (this.state === 'half-open') {
      this.open(now);
      return;
    }
    if (this.state === 'open') return;
    this.consecutive++;
    this.record(true);
    const seen = this.outcomes.length;
    if (this.consecutive >= this.opts.consecutive_failures || (seen >= this.opts.min_requests && this.failures / seen >= this.opts.failure_rate)) {
      this.open(now);
    }
  }

  private record(failed: boolean): void {
    if (this.outcomes.length < this.opts.window) this.outcomes.push(failed);
    else {
      if (this.outcomes[this.next]) this.failures--;
      this.outcomes[this.next] = failed;
      this.next = (this.next + 1) % this.opts.window;
    }
    if (failed) this.failures++;
  }

  private open(now: number): void {
    this.state = 'open';
    this.openedAt = now;
    this.probing = false;
  }

  private close(): void {
    this.state = 'closed';
    this.probing = false;
    this.consecutive = 0;
    this.outcomes.length = 0;
    this.next = 0;
    this.failures = 0;
  }
}
