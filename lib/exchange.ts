import type { ClientRequest, IncomingMessage } from 'node:http';
import type { UpstreamDeadlines } from './deadlines/upstream-deadlines';
import type { LlmRequest } from './formats/format';
import type { Observation } from './observability/observation';
import type { UpstreamTarget } from './proxy';
import type { Attempt } from './transport/stale-socket';
import type { BalanceStatistics } from './types';

/** What one request carries from body parsing to the end of the answer. */
export interface Exchange {
  llmReq: LlmRequest;
  /** The serialised upstream body, written once. */
  payload: Buffer;
  /** Upstream path and query. */
  path: string;
  /** The route's upstream and event handlers, for the shared transport. */
  upstream: UpstreamTarget;
  startedAt: number;
  proxyReq: ClientRequest | undefined;
  timedOut: boolean;
  /** The upstream request's clocks, once it is sent. */
  deadlines?: UpstreamDeadlines;
  /** The client closed its connection before the answer was complete. */
  clientGone: boolean;
  /** Request id, timings and observers of this request. */
  obs: Observation;
  /** The transport's record of the upstream attempt (the stale-socket retry). */
  attempt: Attempt;
  /** Set by a balanced route (lib/balancer): which target served, for the statistics. */
  balance?: BalanceStatistics;
}

const EXCHANGE = Symbol('express-ai-proxy.exchange');

type Carrier = IncomingMessage & { [EXCHANGE]?: Exchange };

export function attachExchange(req: IncomingMessage, exchange: Exchange): void {
  (req as Carrier)[EXCHANGE] = exchange;
}

export function exchangeOf(req: IncomingMessage): Exchange | undefined {
  return (req as Carrier)[EXCHANGE];
}
