/** The circuit breaker's transitions and the per-target limiter's queue, with an explicit clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Breaker } from '../../lib/balancer/breaker';
import { Limiter } from '../../lib/balancer/limiter';

const opts = { consecutive_failures: 3, failure_rate: 0.5, min_requests: 10, window: 20, cooldown: 1000 };

describe('circuit breaker', () => {
  test('closed → open after N consecutive failures; a success in between resets the count', () => {
    const b = new Breaker(opts);
    b.failure(0);
    b.failure(0);
    b.success();
    b.failure(0);
    b.failure(0);
    assert.equal(b.state, 'closed');
    b.failure(0);
    assert.equal(b.state, 'open');
    assert.equal(b.allows(500), false);
    assert.equal(b.retryAfter(400), 600);
  });

  test('open → one probe after the cooldown (half-open) → closed on its success', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 3; i++) b.failure(0);
    assert.equal(b.allows(999), false);
    assert.equal(b.allows(1000), true);
    b.onSend(1000);
    assert.equal(b.state, 'half-open');
    assert.equal(b.allows(1001), false, 'only one probe at a time');
    b.success();
    assert.equal(b.state, 'closed');
    assert.equal(b.allows(1002), true);
  });

  test('half-open → open again on the probe failing, for another full cooldown', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 3; i++) b.failure(0);
    b.onSend(1500);
    b.failure(1600);
    assert.equal(b.state, 'open');
    assert.equal(b.allows(2599), false);
    assert.equal(b.allows(2600), true);
  });

  test('failure rate: opens at 50% over at least min_requests even without a consecutive run', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 9; i++) {
      if (i % 2 === 0) b.failure(0);
      else b.success();
    }
    assert.equal(b.state, 'closed', '9 requests is under min_requests');
    b.success();
    b.failure(0);
    assert.equal(b.state, 'open', `6 of 11 failed`);
  });

  test('a probe that never reports (its client left) frees the half-open slot after a cooldown', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 3; i++) b.failure(0);
    b.onSend(1000);
    assert.equal(b.allows(1500), false);
    assert.equal(b.allows(2000), true);
  });
});

describe('limiter and queue', () => {
  test('FIFO: slots are handed to waiters in arrival order', () => {
    const l = new Limiter(1, 5, 10_000);
    assert.equal(l.tryAcquire(), true);
    assert.equal(l.tryAcquire(), false);
    const order: string[] = [];
    l.enqueue(
      () => order.push('a'),
      () => order.push('a refused'),
    );
    l.enqueue(
      () => order.push('b'),
      () => order.push('b refused'),
    );
    l.release();
    l.release();
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(l.active, 1);
    l.release();
    assert.equal(l.active, 0);
  });

  test('bounded length: a waiter beyond max_length is refused at once', () => {
    const l = new Limiter(1, 1, 10_000);
    l.tryAcquire();
    const seen: string[] = [];
    l.enqueue(
      () => seen.push('first'),
      (why) => seen.push(why),
    );
    l.enqueue(
      () => seen.push('second'),
      (why) => seen.push(why),
    );
    assert.deepEqual(seen, ['queue_full']);
    l.clear();
  });

  test('bounded wait: refused with queue_timeout after max_wait', async () => {
    const l = new Limiter(1, 5, 30);
    l.tryAcquire();
    // The limiter's timer is unref'd: the test keeps the process alive itself.
    const [why] = await Promise.all([new Promise((resolve) => l.enqueue(() => resolve('granted'), resolve)), sleep(60)]);
    assert.equal(why, 'queue_timeout');
    assert.equal(l.queued, 0);
  });

  test('a cancelled waiter (client left) leaves the queue and never gets the slot', async () => {
    const l = new Limiter(1, 1, 1000);
    l.tryAcquire();
    const seen: string[] = [];
    const cancel = l.enqueue(
      () => seen.push('a'),
      (why) => seen.push(`a ${why}`),
    );
    cancel();
    assert.equal(l.queued, 0);
    l.enqueue(
      () => seen.push('b'),
      (why) => seen.push(`b ${why}`),
    );
    l.release();
    await sleep(5);
    assert.deepEqual(seen, ['b']);
    l.release();
  });

  test('limit 0 is unlimited', () => {
    const l = new Limiter(0, 0, 1);
    for (let i = 0; i < 1000; i++) assert.equal(l.tryAcquire(), true);
    assert.equal(l.full, false);
  });
});
