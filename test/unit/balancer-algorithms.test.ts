/**
 * The balancing rules as pure units: distributions over N picks within a stated tolerance,
 * consistent hashing's stickiness and minimal movement, priority groups.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Candidate } from '../../lib/balancer/algorithm';
import { HashRing } from '../../lib/balancer/hash-ring';
import { LeastConnections } from '../../lib/balancer/least-connections';
import { PeakEwma } from '../../lib/balancer/peak-ewma';
import { PriorityGroups } from '../../lib/balancer/priority';
import { WeightedRoundRobin } from '../../lib/balancer/round-robin';

function candidates(weights: number[], priorities: number[] = []): Candidate[] {
  return weights.map((weight, index) => ({ index, weight, priority: priorities[index] ?? 0, inflight: 0 }));
}

function count(n: number, pick: () => number, size: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) counts[pick()]!++;
  return counts;
}

/** A seeded generator, so the random-driven distributions are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('weighted round-robin', () => {
  test('equal weights: exactly N/3 each over 3000 picks', () => {
    const rr = new WeightedRoundRobin(3);
    const c = candidates([1, 1, 1]);
    assert.deepEqual(
      count(3000, () => rr.pick(c).index, 3),
      [1000, 1000, 1000],
    );
  });

  test('weights 5:3:2: exact shares, and smooth (never 3 of the heavy one in a row when weights allow)', () => {
    const rr = new WeightedRoundRobin(3);
    const c = candidates([5, 3, 2]);
    const seq = Array.from({ length: 1000 }, () => rr.pick(c).index);
    assert.deepEqual(
      count(
        1000,
        (() => {
          let i = 0;
          return () => seq[i++]!;
        })(),
        3,
      ),
      [500, 300, 200],
    );
    assert.ok(!seq.join('').includes('000'), 'smooth WRR interleaves the heavy target');
  });

  test('a target left out (down) gets nothing; the rest keep their ratio', () => {
    const rr = new WeightedRoundRobin(3);
    const c = candidates([2, 1, 1]).filter((x) => x.index !== 0);
    assert.deepEqual(
      count(100, () => rr.pick(c).index, 3),
      [0, 50, 50],
    );
  });
});

describe('least-connections', () => {
  test('picks the target with fewest requests in flight per weight', () => {
    const lc = new LeastConnections(3);
    const c = candidates([1, 1, 2]);
    c[0]!.inflight = 3;
    c[1]!.inflight = 1;
    c[2]!.inflight = 3; // 1.5 per weight unit
    assert.equal(lc.pick(c).index, 1);
  });

  test('ties go round: simulated load with random completion stays within 10% of even over 3000 requests', () => {
    const lc = new LeastConnections(3);
    const c = candidates([1, 1, 1]);
    const random = seeded(7);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const t = lc.pick(c);
      t.inflight++;
      counts[t.index]!++;
      // A random request finishes.
      const busy = c.filter((x) => x.inflight > 0);
      if (busy.length > 0 && random() < 0.9) busy[Math.floor(random() * busy.length)]!.inflight--;
    }
    for (const n of counts) assert.ok(Math.abs(n - 1000) <= 100, `counts ${counts.join(', ')}`);
  });
});

describe('lowest-latency (peak-EWMA)', () => {
  test('a target 5x faster gets about 1 - exploration of the traffic (tolerance 3%) and the slow one is still sampled', () => {
    let now = 0;
    const ewma = new PeakEwma(2, { exploration: 0.05, decayMs: 10_000, now: () => now, random: seeded(42) });
    const c = candidates([1, 1]);
    const latency = [100, 500];
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      now += 10;
      const t = ewma.pick(c);
      counts[t.index]!++;
      ewma.observe(t.index, latency[t.index]!);
    }
    const fastShare = counts[0]! / 4000;
    assert.ok(Math.abs(fastShare - 0.95) <= 0.03, `fast share ${fastShare}`);
    assert.ok(counts[1]! > 100, 'exploration keeps measuring the slow target');
  });

  test('a peak raises the figure at once; it decays back slowly', () => {
    let now = 0;
    const ewma = new PeakEwma(1, { exploration: 0, decayMs: 1000, now: () => now });
    ewma.observe(0, 100);
    now += 10;
    ewma.observe(0, 1000);
    assert.equal(ewma.latency(0), 1000);
    now += 1000;
    ewma.observe(0, 100);
    const after = ewma.latency(0);
    assert.ok(after < 1000 && after > 100, `decayed to ${after}`);
  });

  test('an unmeasured target is tried first', () => {
    const ewma = new PeakEwma(2, { exploration: 0, decayMs: 1000 });
    ewma.observe(0, 50);
    assert.equal(ewma.pick(candidates([1, 1])).index, 1);
  });
});

describe('consistent hashing', () => {
  const names = ['gpu-a', 'gpu-b', 'gpu-c', 'gpu-d'].map((name) => ({ name, weight: 100 }));

  test('a key always maps to the same target', () => {
    const ring = new HashRing(names);
    const c = candidates([100, 100, 100, 100]);
    for (let k = 0; k < 200; k++) {
      const first = ring.pick(c, { key: `conversation-${k}` }).index;
      for (let i = 0; i < 5; i++) assert.equal(ring.pick(c, { key: `conversation-${k}` }).index, first);
    }
  });

  test('10000 keys spread within 20% of even over 4 targets', () => {
    const ring = new HashRing(names);
    const counts = count(
      10_000,
      (() => {
        let k = 0;
        return () => ring.ownerOf(`key-${k++}`);
      })(),
      4,
    );
    for (const n of counts) assert.ok(Math.abs(n - 2500) <= 500, `counts ${counts.join(', ')}`);
  });

  test('taking a target away moves only its own keys (and adding it back restores them)', () => {
    const ring = new HashRing(names);
    const all = candidates([100, 100, 100, 100]);
    const without2 = all.filter((c) => c.index !== 2);
    let moved = 0;
    let owned = 0;
    for (let k = 0; k < 5000; k++) {
      const key = `chat-${k}`;
      const before = ring.pick(all, { key }).index;
      const after = ring.pick(without2, { key }).index;
      if (before === 2) owned++;
      else assert.equal(after, before, `key ${key} moved from ${before} to ${after} though its target stayed`);
      if (before !== after) moved++;
      assert.equal(ring.pick(all, { key }).index, before);
    }
    assert.equal(moved, owned);
    // A ring built without the target agrees with the one that skips it: removal from the config moves the same keys.
    const smaller = new HashRing(names.filter((n) => n.name !== 'gpu-c'));
    const mapBack = [0, 1, 3];
    for (let k = 0; k < 1000; k++) assert.equal(mapBack[smaller.ownerOf(`chat-${k}`)], ring.pick(without2, { key: `chat-${k}` }).index);
  });

  test('no key: weighted round-robin', () => {
    const ring = new HashRing(names);
    const c = candidates([100, 100, 100, 100]);
    assert.deepEqual(
      count(400, () => ring.pick(c, {}).index, 4),
      [100, 100, 100, 100],
    );
  });
});

describe('priority groups', () => {
  test('only the best group serves; round-robin by weight inside it', () => {
    const p = new PriorityGroups(4);
    const c = candidates([1, 1, 3, 1], [0, 0, 1, 1]);
    assert.deepEqual(
      count(100, () => p.pick(c).index, 4),
      [50, 50, 0, 0],
    );
  });

  test('the next group only when the whole first group is out', () => {
    const p = new PriorityGroups(4);
    const c = candidates([1, 1, 3, 1], [0, 0, 1, 1]);
    assert.equal(p.pick(c.filter((x) => x.index !== 0)).index, 1);
    assert.deepEqual(
      count(100, () => p.pick(c.slice(2)).index, 4),
      [0, 0, 75, 25],
    );
  });
});
