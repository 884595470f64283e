/** Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and lists where the time went. */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface HotFunction {
  name: string;
  /** file:line, relative to the repo when inside it. */
  where: string;
  selfPct: number;
  /** Time with this function anywhere on the stack. Both are % of busy (non-idle) time, except for
   * the `(idle)` entry itself, which is % of the whole profile. */
  totalPct: number;
}

function frameKey(n: ProfileNode, root: string): { key: string; name: string; where: string } {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(root + '/', '');
  const where = file ? `${file}:${lineNumber + 1}` : '(native)';
  const name = functionName || '(anonymous)';
  return { key: `${name} ${where}`, name, where };
}

/**
 * Self and inclusive time of every function, largest first. `filter` keeps only frames whose
 * file matches (e.g. /^(lib|dist)\//); inclusive time counts a function once per sample.
 */
export function summarise(file: string, root: string, filter?: RegExp): HotFunction[] {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const info = new Map<string, { name: string; where: string }>();
  let all = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id);
    if (!leaf) return;
    // Percentages are of busy time: a proxy process waits idle while the other rows are measured.
    if (leaf.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    all += dt;
    const lk = frameKey(leaf, root);
    info.set(lk.key, lk);
    self.set(lk.key, (self.get(lk.key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const k = frameKey(node, root);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      info.set(k.key, k);
      total.set(k.key, (total.get(k.key) ?? 0) + dt);
    }
  });
  const out: HotFunction[] = [];
  if (!filter) out.push({ name: '(idle)', where: '(native)', selfPct: (idle / (all + idle)) * 100, totalPct: (idle / (all + idle)) * 100 });
  for (const [key, t] of total) {
    const i = info.get(key);
    if (!i || (filter && !filter.test(i.where))) continue;
    out.push({ name: i.name, where: i.where, selfPct: ((self.get(key) ?? 0) / all) * 100, totalPct: (t / all) * 100 });
  }
  return out;
}

/** Text for the report: top functions by self time overall, and the project's own by total time. */
export function formatProfile(file: string, root: string, top = 12): string {
  const all = summarise(file, root);
  const everything = all.filter((h) => h.name !== '(root)' && h.name !== '(idle)');
  const idle = all.find((h) => h.name === '(idle)')?.selfPct ?? 0;
  // lib/ (tsx), dist/, or the private build `<out-dir>/.lib/` that run.ts makes when dist/ is stale.
  const own = summarise(file, root, /^(lib|dist)\/|(^|\/)\.lib\//);
  const row = (h: HotFunction): string => `    ${h.selfPct.toFixed(1).padStart(5)}% self ${h.totalPct.toFixed(1).padStart(5)}% total  ${h.name}  ${h.where}`;
  return [
    `  ${file} (idle ${idle.toFixed(1)}% of the profile; figures below are % of busy time)`,
    '   by self time, all code:',
    ...everything
      .sort((a, b) => b.selfPct - a.selfPct)
      .slice(0, top)
      .map(row),
    '   lib/ (or dist/) functions by total time:',
    ...own
      .sort((a, b) => b.totalPct - a.totalPct)
      .slice(0, top)
      .map(row),
  ].join('\n');
}

if (require.main === module) {
  for (const f of process.argv.slice(2)) process.stdout.write(formatProfile(f, process.cwd()) + '\n');
}
