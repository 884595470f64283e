import type { Algorithm, Candidate, PickContext } from './algorithm';
import { WeightedRoundRobin } from './round-robin';

/** Points on the ring per unit of weight (weight 100, the default, gives 160 points). */
const POINTS_PER_WEIGHT = 1.6;

/**
 * Consistent hashing on a ring of virtual points. Each target's points depend only on its own name
 * and weight, so taking a target away (its breaker opens, its health check fails, or it is removed
 * from the config) moves only the keys that were on it, to the next point clockwise; every other
 * key stays where its KV cache is. A request without a key goes by weighted round-robin.
 */
export class HashRing implements Algorithm {
  readonly sticky = true;
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;
  private readonly fallback: WeightedRoundRobin;

  constructor(targets: ReadonlyArray<{ name: string; weight: number }>) {
    const all: Array<[number, number]> = [];
    targets.forEach((t, index) => {
      const n = Math.max(1, Math.round(t.weight * POINTS_PER_WEIGHT));
      for (let i = 0; i < n; i++) all.push([hash32(`${t.name}#${i}`), index]);
    });
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(all, (p) => p[0]);
    this.owners = Int32Array.from(all, (p) => p[1]);
    this.fallback = new WeightedRoundRobin(targets.length);
  }

  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate {
    if (ctx.key === undefined) return this.fallback.pick(candidates);
    const byIndex = new Map(candidates.map((c) => [c.index, c]));
    const start = this.firstPointAtOrAfter(hash32(ctx.key));
    for (let i = 0; i < this.points.length; i++) {
      const found = byIndex.get(this.owners[(start + i) % this.points.length]!);
      if (found) return found;
    }
    return candidates[0]!;
  }

  /** The target a key maps to when every target is up (for tests and diagnostics). */
  ownerOf(key: string): number {
    return this.owners[this.firstPointAtOrAfter(hash32(key)) % this.points.length]!;
  }

  private firstPointAtOrAfter(h: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** FNV-1a over UTF-16 units with murmur3's finaliser (FNV alone clusters similar strings like `a#1`, `a#2`). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
