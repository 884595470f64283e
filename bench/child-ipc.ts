/**
 * The child side of the parent/child protocol: tell the parent the port, answer `stats` with this
 * process's own resource usage, and exit cleanly on `stop` (so `--cpu-prof` gets written).
 */
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** What a child reports about itself. */
export interface ChildStats {
  /** Peak resident set size, bytes (getrusage ru_maxrss). */
  maxRssBytes: number;
  /** Current resident set size, bytes. */
  rssBytes: number;
  /** CPU time used so far, microseconds (user + system). */
  cpuMicros: number;
  /** Event-loop delay since the previous stats request (or start), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

// How late timers fire is how late this process answers anything: the lag a request waits.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

export type ParentMessage =
  | { type: 'stats'; id: number }
  /** Upstream only: change how long a streamed answer takes (e.g. fast for warm-up, slow to measure). */
  | { type: 'pace'; id: number; streamMs: number }
  | { type: 'stop' };
export type ChildMessage =
  { type: 'ready'; port: number } | { type: 'stats'; id: number; stats: ChildStats } | { type: 'ack'; id: number } | { type: 'error'; message: string };

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

/** Reads this process's stats. */
export function ownStats(): ChildStats {
  const ru = process.resourceUsage();
  const stats = {
    maxRssBytes: ru.maxRSS * 1024,
    rssBytes: process.memoryUsage.rss(),
    cpuMicros: ru.userCPUTime + ru.systemCPUTime,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
  loopDelay.reset();
  return stats;
}

/** Announces `server`'s port to the parent and serves its requests until `stop`. */
export function serveParent(server: Server, onPace?: (streamMs: number) => void): void {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server is not listening on TCP');
  process.on('message', (msg: ParentMessage) => {
    if (msg.type === 'stats') send({ type: 'stats', id: msg.id, stats: ownStats() });
    else if (msg.type === 'pace') {
      onPace?.(msg.streamMs);
      send({ type: 'ack', id: msg.id });
    } else if (msg.type === 'stop') {
      server.closeAllConnections();
      server.close();
      // exit() rather than waiting for the loop to drain: lingering sockets must not keep us alive,
      // and --cpu-prof writes its profile on exit().
      process.exit(0);
    }
  });
  // If the parent dies, do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: addr.port });
}

/** Reports a startup failure to the parent and exits. */
export function failToParent(err: unknown): never {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
