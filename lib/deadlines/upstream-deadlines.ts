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
  private firstByte: NodeJS.Timeout | undefined;
  private total: NodeJS.Timeout | undefined;
  private idleArmed = false;

  constructor(
    private readonly proxyReq: ClientRequest,
    private readonly limits: UpstreamLimits,
    private readonly onExpire: (limit: UpstreamLimit) => void,
  ) {
    this.firstByte = setTimeout(this.expire, limits.upstream_first_byte_timeout, 'upstream_first_byte_timeout');
    this.total = setTimeout(this.expire, limits.upstream_total_timeout, 'upstream_total_timeout');
    proxyReq.once('close', this.clear);
  }

  /** The answer's headers arrived: from now on silence is measured by `upstream_timeout`. */
  started(): void {
    if (this.firstByte !== undefined) {
      clearTimeout(this.firstByte);
      this.firstByte = undefined;
    }
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

  private readonly expire = (limit: UpstreamLimit): void => {
    if (this.expired !== undefined) return;
    this.expired = limit;
    this.clear();
    this.onExpire(limit);
    this.proxyReq.destroy(Object.assign(new Error(`upstream timed out (${limit})`), { code: 'ETIMEDOUT' }));
  };

  /** The exchange is over: no clock may fire any more. */
  readonly clear = (): void => {
    if (this.firstByte !== undefined) clearTimeout(this.firstByte);
    if (this.total !== undefined) clearTimeout(this.total);
    this.firstByte = undefined;
    this.total = undefined;
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
