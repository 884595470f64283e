/**
 * Benchmark entry: `npm run bench -- [--mode=throughput|scale|all] [flags]` (`--help` lists them).
 * The parent only generates load; the upstream and every server under test run in child processes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildRuntime } from './children';
import { compileChildren } from './compile-children';
import { parseFlags, type BenchFlags, type LibSource } from './flags';
import { formatProfile } from './profile-summary';
import { runScale, scaleTargets } from './scale';
import { formatBaseline, formatRows, formatScale, formatTargets, writeJson, type TargetResult } from './table';
import { compareWithBaseline, runThroughput, throughputTargets } from './throughput';

const ROOT = path.resolve(__dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** What the proxy children load, and how they run. */
interface LibChoice {
  entry: string;
  tsx: boolean;
  note: string;
}

/**
 * `dist`: dist/index.js when it is newer than every file in lib/; otherwise (the lead may be
 * editing lib/) a private tsc build of lib/ into `<outDir>/.lib`, the same CommonJS that
 * `npm run build` emits, without touching dist/. `src`: lib/index.ts under tsx.
 */
function resolveLib(wanted: LibSource, outDir: string): LibChoice {
  if (typeof wanted === 'object') {
    const entry = path.resolve(wanted.path);
    if (!fs.existsSync(entry)) throw new Error(`--lib=${wanted.path}: no such file`);
    return { entry, tsx: false, note: `${entry} (--lib)` };
  }
  if (wanted === 'src') return { entry: path.join(ROOT, 'lib', 'index.ts'), tsx: true, note: 'lib/*.ts through tsx (--lib=src)' };
  const dist = path.join(ROOT, 'dist', 'index.js');
  if (fs.existsSync(dist) && fs.statSync(dist).mtimeMs >= newestMtime(path.join(ROOT, 'lib'))) {
    return { entry: dist, tsx: false, note: 'dist/index.js (built package)' };
  }
  const out = path.join(outDir, '.lib');
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', out, '--declaration', 'false'],
    {
      stdio: 'inherit',
    },
  );
  return { entry: path.join(out, 'index.js'), tsx: false, note: `lib/ compiled by tsc into ${path.relative(ROOT, out)}/ (dist/ missing or older than lib/)` };
}

/** Pinning needs two CPUs and taskset (util-linux). */
function canPin(): boolean {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function log(s: string): void {
  process.stderr.write(s + '\n');
}

async function main(): Promise<void> {
  const parsed = parseFlags(process.argv.slice(2));
  const outDir = path.resolve(ROOT, parsed.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const lib = resolveLib(parsed.lib, outDir);
  const flags: BenchFlags = { ...parsed, pin: parsed.pin && canPin() };
  if (flags.baseline !== undefined) {
    flags.baseline = path.resolve(flags.baseline);
    if (!fs.existsSync(flags.baseline)) throw new Error(`--baseline=${parsed.baseline}: no such file`);
  }
  const profDir = path.join(outDir, 'profiles');
  if (flags.cpuProf) fs.rmSync(profDir, { recursive: true, force: true });
  // Under tsx a Node 20 process carries a loader thread (+30-45 MB RSS): children run plain node on a
  // transpiled copy of their bench files, unless lib/*.ts itself must be loaded.
  const rt: ChildRuntime = lib.tsx
    ? { dir: __dirname, tsx: true, libEntry: lib.entry }
    : { dir: compileChildren(path.join(outDir, '.children')), tsx: false, libEntry: lib.entry };
  if (flags.pin) execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });

  const env = {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    fdLimit: (() => {
      try {
        return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
      } catch {
        return '?';
      }
    })(),
    lib: lib.note,
    ...(flags.baseline !== undefined ? { baseline: flags.baseline } : {}),
    children: rt.tsx ? 'node --import tsx (bench/*.ts)' : 'plain node (bench/*.ts transpiled to ' + path.relative(ROOT, rt.dir) + ')',
    layout: flags.pin
      ? 'parent (autocannon / stream clients) + upstream child pinned to CPU 0, proxy child pinned to CPU 1'
      : 'parent (autocannon / stream clients), upstream child, one proxy child per row; unpinned',
    rounds: `${flags.rounds} interleaved rounds per row`,
  };
  log(`measuring ${env.lib}; node ${env.node}, ${env.cpus} CPUs, ulimit -n ${env.fdLimit}; ${env.layout}`);
  const targets: TargetResult[] = [];
  const started = Date.now();

  if (flags.mode === 'throughput' || flags.mode === 'all') {
    log(`throughput: ${flags.connections} connections, ${flags.warmup} s warm-up + ${flags.duration} s per row, ${flags.chunks} chunks per streamed answer`);
    const rows = await runThroughput(rt, flags, profDir, log);
    const t = throughputTargets(rows, flags.connections);
    targets.push(...t);
    const baseline = flags.baseline !== undefined ? compareWithBaseline(rows) : undefined;
    process.stdout.write(
      `\nThroughput (${flags.connections} connections, ${flags.duration} s per row, ${flags.chunks} chunks per stream; ${env.lib})\n` +
        formatRows(rows) +
        '\n\n' +
        formatTargets(t) +
        '\n' +
        (baseline ? `\n${formatBaseline(baseline, flags.baseline!)}\n` : ''),
    );
    writeJson(path.join(outDir, 'latest.json'), { when: new Date().toISOString(), env, flags, rows, targets: t, ...(baseline ? { baseline } : {}) });
  }
  if (flags.mode === 'scale' || flags.mode === 'all') {
    // Each stream holds a client socket and an upstream socket in the proxy, one in the upstream and one here.
    const fds = Number(env.fdLimit);
    if (Number.isFinite(fds) && fds < flags.streams * 2 + 256) {
      log(`warning: ulimit -n is ${fds}; ${flags.streams} streams need about ${flags.streams * 2 + 256} descriptors in the proxy (raise it: ulimit -n 65536)`);
    }
    log(`scale: ${flags.streams} streams × ${flags.scaleChunks} chunks over ${flags.streamMs} ms, ramp ${flags.rampMs} ms`);
    const s = await runScale(rt, flags, profDir, log);
    const t = scaleTargets(s);
    targets.push(...t);
    process.stdout.write(`\nScale (${env.lib})\n${s.map(formatScale).join('\n\n')}\n\n${formatTargets(t)}\n`);
    writeJson(path.join(outDir, 'latest-scale.json'), { when: new Date().toISOString(), env, flags, scale: s, targets: t });
  }
  log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s; JSON in ${path.relative(ROOT, outDir)}/`);

  if (flags.cpuProf && fs.existsSync(profDir)) {
    process.stdout.write('\nCPU profiles of the proxy processes:\n');
    for (const f of fs
      .readdirSync(profDir)
      .filter((x) => x.endsWith('.cpuprofile'))
      .sort()) {
      process.stdout.write(formatProfile(path.join(profDir, f), ROOT) + '\n');
    }
  }
  if (targets.some((t) => !t.pass)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(2);
});
