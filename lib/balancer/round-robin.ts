import type { Algorithm, Candidate } from './algorithm';

/**
 * Smooth weighted round-robin (nginx's): each pick adds every candidate's weight to its running
 * score, takes the highest and subtracts the total from it. Weights 5:1:1 give A A B A C A A, not
 * five As in a row, and it stays exact over any subset of candidates (targets skipped while down).
 */
export class WeightedRoundRobin implements Algorithm {
  readonly sticky = false;
  private readonly current: number[];

  constructor(size: number) {
    this.current = new Array<number>(size).fill(0);
  }

  pick(candidates: readonly Candidate[]): Candidate {
    let total = 0;
    let best = candidates[0]!;
    let bestScore = -Infinity;
    for (const c of candidates) {
      const score = (this.current[c.index] ?? 0) + c.weight;
      this.current[c.index] = score;
      total += c.weight;
      if (score > bestScore) [best, bestScore] = [c, score];
    }
    this.current[best.index] = bestScore - total;
    return best;
  }
}
