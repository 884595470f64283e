import type { Algorithm, Candidate } from './algorithm';
import { WeightedRoundRobin } from './round-robin';

/**
 * Priority groups: only the targets of the lowest `priority` number among the candidates get
 * traffic (weighted round-robin inside the group). A group drops out of the candidates when all its
 * targets are down (breaker open, unhealthy) or busy (at their concurrency limit), so the next
 * group serves only then.
 */
export class PriorityGroups implements Algorithm {
  readonly sticky = false;
  private readonly inGroup: WeightedRoundRobin;

  constructor(size: number) {
    this.inGroup = new WeightedRoundRobin(size);
  }

  pick(candidates: readonly Candidate[]): Candidate {
    let top = Infinity;
    for (const c of candidates) if (c.priority < top) top = c.priority;
    return this.inGroup.pick(candidates.filter((c) => c.priority === top));
  }
}
