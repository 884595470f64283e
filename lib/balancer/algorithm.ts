/** What an algorithm may look at to choose a target (a snapshot; algorithms never mutate it). */
export interface Candidate {
  /** Position in `targets`, stable for the route's lifetime. */
  index: number;
  weight: number;
  /** Lower is preferred (priority groups). */
  priority: number;
  /** Requests this target is serving right now (from this process). */
  inflight: number;
}

/** Per-request input some algorithms use. */
export interface PickContext {
  /** The consistent-hashing key; undefined when the request carries none. */
  key?: string;
}

/**
 * One balancing rule. `pick` gets the targets that may serve the request (breaker closed or
 * probing, healthy, not tried yet), never an empty list, and returns one of them.
 */
export interface Algorithm {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate;
  /**
   * True when the choice must not move to a less busy target just because the chosen one is at its
   * concurrency limit (consistent hashing: the conversation's KV cache lives there, so it queues).
   */
  readonly sticky: boolean;
  /** A served request's latency, for algorithms that learn (lowest-latency). */
  observe?(index: number, latencyMs: number): void;
}
