import type { ClientRequest } from 'node:http';

/** The option whose limit ended an upstream exchange. */
export type UpstreamLimit = 'upstream_first_byte_timeout' | 'upstream_timeout' | 'upstream_total_timeout';

/** The upstream time limits of a route, in ms. */
export interface UpstreamLimits {
  upstream_timeout: number;
  upstream_first_byte_timeout: number;
  upstream_total_timeout: number;
}

/**
 * The three clocks of one upstream request:
 * - until the answer's headers arrive, `upstream_first_byte_timeout` (a cold model load sends
 *   nothing for minutes; the idle limit does not apply yet);
 * - from then on, `upstream_timeout` of silence (the socket's own idle timer, reset by every read at
 *   no cost of ours); it is suspended while the proxy itself holds the upstream back for a slow client;
 * - over everything, `upstream_total_timeout` from the moment the request is sent, so an upstream
 *   dripping a byte now and then still ends.
 * When one expires, `expire(limit)` is called once and the upstream request is destroyed.
 */
export class UpstreamDeadlines {
  /** The limit that expired, if one did. */
  expired: UpstreamLimit | undefined;
  /**
   * One timer serves the first-byte and total clocks (a timer costs measurable time per request):
   * it is armed for the nearer of the two, and when it fires after the answer has begun, it is
   * armed again for what remains of the total. Most requests end before it ever fires.
   */
  private timer: NodeJS.Timeout | undefined;
  private readonly sentAt = performance.now();
  private answered = false;
  private idleArmed = false;

  constructor(
    private readonly proxyReq: ClientRequest,
    private readonly limits: UpstreamLimits,
    private readonly onExpire: (limit: UpstreamLimit) => void,
  ) {
    this.timer = setTimeout(this.tick, Math.min(limits.upstream_first_byte_timeout, limits.upstream_total_timeout));
    // 'close' comes once; `on` spares the wrapper `once` makes.
    proxyReq.on('close', this.clear);
  }

  /** The answer's headers arrived: from now on silence is measured by `upstream_timeout`. */
  started(): void {
    this.answered = true;
    if (this.expired !== undefined || this.proxyReq.destroyed) return;
    this.idleArmed = true;
    this.proxyReq.setTimeout(this.limits.upstream_timeout, this.onIdle);
  }

  /** The proxy stops reading the upstream (the client is not reading): its silence is not its fault. */
  hold(): void {
    if (this.idleArmed) this.proxyReq.setTimeout(0);
  }

  /** Reading again. */
  release(): void {
    if (this.idleArmed && !this.proxyReq.destroyed) this.proxyReq.setTimeout(this.limits.upstream_timeout);
  }

  private readonly onIdle = (): void => {
    this.expire('upstream_timeout');
  };

  /** The timer fired: a clock has run out, or (the answer having begun) the total clock goes on. */
  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.expired !== undefined) return;
    const elapsed = performance.now() - this.sentAt;
    const { upstream_first_byte_timeout: firstByte, upstream_total_timeout: total } = this.limits;
    if (!this.answered && elapsed >= firstByte) this.expire('upstream_first_byte_timeout');
    else if (elapsed >= total) this.expire('upstream_total_timeout');
    else this.timer = setTimeout(this.tick, Math.max(1, (this.answered ? total : Math.min(firstByte, total)) - elapsed));
  };

  private expire(limit: UpstreamLimit): void {
    if (this.expired !== undefined) return;
    this.expired = limit;
    this.clear();
    this.onExpire(limit);
    this.proxyReq.destroy(Object.assign(new Error(`upstream timed out (${limit})`), { code: 'ETIMEDOUT' }));
  }

  /** The exchange is over: no clock may fire any more. */
  readonly clear = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  };
}

/** What the client is told when a limit ended the exchange. */
export function timeoutMessage(limit: UpstreamLimit | undefined, limits: UpstreamLimits): string {
  switch (limit) {
    case 'upstream_first_byte_timeout':
      return `the upstream did not start its answer within ${limits.upstream_first_byte_timeout} ms (upstream_first_byte_timeout)`;
    case 'upstream_total_timeout':
      return `the upstream did not finish its answer within ${limits.upstream_total_timeout} ms (upstream_total_timeout)`;
    default:
      return `the upstream sent nothing for ${limits.upstream_timeout} ms (upstream_timeout)`;
  }
}
