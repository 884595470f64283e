import type { Algorithm, Candidate } from './algorithm';

/** Options of the lowest-latency algorithm. */
export interface PeakEwmaOptions {
  /** Share of requests sent to a random other candidate so every target's figure stays fresh (0..1). */
  exploration: number;
  /** Time constant of the moving average, ms: an observation this old weighs 1/e. */
  decayMs: number;
  /** For tests: the clock and the dice. */
  now?: () => number;
  random?: () => number;
}

/**
 * Lowest latency by peak-EWMA (Finagle, Linkerd): each target keeps an exponentially weighted
 * moving average of its observed latency that jumps up at once on a slow answer (the peak) and
 * decays slowly; the pick is the lowest average × (requests in flight + 1), divided by weight. A
 * target never measured scores 0 so it gets tried. `exploration` of the picks go to a random other
 * candidate: without it a target that was slow once would never be measured again.
 */
export class PeakEwma implements Algorithm {
  readonly sticky = false;
  private readonly cost: number[];
  private readonly stamp: number[];
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    size: number,
    private readonly opts: PeakEwmaOptions,
  ) {
    this.cost = new Array<number>(size).fill(0);
    this.stamp = new Array<number>(size).fill(0);
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  /** The current latency figure of a target, ms (0 until measured). */
  latency(index: number): number {
    return this.cost[index] ?? 0;
  }

  observe(index: number, latencyMs: number): void {
    const now = this.now();
    const prev = this.cost[index] ?? 0;
    if (prev === 0 || latencyMs > prev) {
      this.cost[index] = latencyMs;
    } else {
      const w = Math.exp(-Math.max(0, now - (this.stamp[index] ?? now)) / this.opts.decayMs);
      this.cost[index] = prev * w + latencyMs * (1 - w);
    }
    this.stamp[index] = now;
  }

  pick(candidates: readonly Candidate[]): Candidate {
    let best = candidates[0]!;
    let bestScore = Infinity;
    for (const c of candidates) {
      const score = ((this.cost[c.index] ?? 0) * (c.inflight + 1)) / c.weight;
      if (score < bestScore) [best, bestScore] = [c, score];
    }
    if (candidates.length > 1 && this.random() < this.opts.exploration) {
      const others = candidates.filter((c) => c !== best);
      return others[Math.floor(this.random() * others.length)] ?? best;
    }
    return best;
  }
}
