/**
 * Per-CPU busy time from /proc/stat, sampled every `intervalMs`: shows whether the core that runs
 * the load generator and the upstream was itself saturated (then a latency figure measures this
 * machine, not the proxy). Linux only; elsewhere it reports nothing.
 */
import fs from 'node:fs';

interface Tick {
  busy: number;
  total: number;
}

function read(): Tick[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const out: Tick[] = [];
  for (const line of text.split('\n')) {
    if (!/^cpu\d+ /.test(line)) continue;
    // user nice system idle iowait irq softirq steal …
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.push({ busy: total - idle, total });
  }
  return out;
}

/** Starts sampling; `stop()` returns each CPU's highest busy % over any one interval. */
export function sampleCpus(intervalMs = 250): { stop(): number[] } {
  let prev = read();
  const peak: number[] = prev ? prev.map(() => 0) : [];
  const timer = setInterval(() => {
    const now = read();
    if (!now || !prev) return;
    now.forEach((t, i) => {
      const p = prev?.[i];
      if (!p || t.total === p.total) return;
      peak[i] = Math.max(peak[i] ?? 0, ((t.busy - p.busy) / (t.total - p.total)) * 100);
    });
    prev = now;
  }, intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
