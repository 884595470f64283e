/** Why a queued request did not get a slot. */
export type QueueRefusal = 'queue_full' | 'queue_timeout';

/**
 * A per-target concurrency limit with a bounded FIFO queue. `limit` 0 means unlimited (then
 * nothing ever queues). A waiter gets its slot in arrival order, or is refused when the queue is
 * full or it waited `maxWait` ms; a waiter whose client left is taken out with the cancel function
 * `enqueue` returns. Timers are unref'd: a waiting request never keeps the process alive.
 */
export class Limiter {
  active = 0;
  private readonly queue: Array<{ grant: () => void; timer: NodeJS.Timeout }> = [];

  constructor(
    readonly limit: number,
    private readonly maxLength: number,
    private readonly maxWait: number,
  ) {}

  /** True when a request would have to wait. */
  get full(): boolean {
    return this.limit > 0 && this.active >= this.limit;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.full) return false;
    this.active++;
    return true;
  }

  /**
   * Waits for a slot: `granted` runs once it is taken (the caller must `release` it later),
   * `refused` when the queue is full (at once) or the wait was too long. Returns the cancel function.
   */
  enqueue(granted: () => void, refused: (why: QueueRefusal) => void): () => void {
    if (this.queue.length >= this.maxLength) {
      refused('queue_full');
      return () => undefined;
    }
    const entry = {
      grant: granted,
      timer: setTimeout(() => {
        this.remove(entry);
        refused('queue_timeout');
      }, this.maxWait),
    };
    entry.timer.unref();
    this.queue.push(entry);
    return () => this.remove(entry);
  }

  /** Gives a slot back; the first waiter, if any, takes it over. */
  release(): void {
    const next = this.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.grant();
      return;
    }
    if (this.active > 0) this.active--;
  }

  /** Refuses nobody, forgets everybody (the route is closing). */
  clear(): void {
    for (const e of this.queue) clearTimeout(e.timer);
    this.queue.length = 0;
  }

  private remove(entry: { timer: NodeJS.Timeout }): void {
    const i = this.queue.indexOf(entry as never);
    if (i === -1) return;
    clearTimeout(entry.timer);
    this.queue.splice(i, 1);
  }
}
