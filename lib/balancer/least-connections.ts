import type { Algorithm, Candidate } from './algorithm';
import { WeightedRoundRobin } from './round-robin';

/**
 * Fewest requests in flight relative to weight (a target of weight 2 takes twice the load); ties
 * are broken by weighted round-robin so idle targets share the traffic instead of the first one
 * getting all of it.
 */
export class LeastConnections implements Algorithm {
  readonly sticky = false;
  private readonly tieBreak: WeightedRoundRobin;

  constructor(size: number) {
    this.tieBreak = new WeightedRoundRobin(size);
  }

  pick(candidates: readonly Candidate[]): Candidate {
    let bestLoad = Infinity;
    let tied: Candidate[] = [];
    for (const c of candidates) {
      const load = c.inflight / c.weight;
      if (load < bestLoad) {
        bestLoad = load;
        tied = [c];
      } else if (load === bestLoad) tied.push(c);
    }
    return tied.length === 1 ? tied[0]! : this.tieBreak.pick(tied);
  }
}
