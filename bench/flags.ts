import { parseArgs } from 'node:util';

/**
 * Which code the proxy children load: the built package, the TypeScript sources, or another
 * build's entry (a path to its `dist/index.js`, e.g. of a `git worktree` of an older commit), so that
 * two builds are compared under the same harness.
 */
export type LibSource = 'dist' | 'src' | { path: string };

/** Every flag of `bench/run.ts`, parsed and defaulted. */
export interface BenchFlags {
  mode: 'throughput' | 'scale' | 'all';
  /** autocannon connections per row. */
  connections: number;
  /** Measured seconds per row. */
  duration: number;
  /** The measured seconds of a row are split into this many interleaved rounds. */
  rounds: number;
  /** Warm-up seconds per row (results discarded). */
  warmup: number;
  /** Content chunks per streamed answer in throughput mode. */
  chunks: number;
  /** Row names to run (throughput mode); empty means all. */
  rows: string[];
  lib: LibSource;
  /**
   * Another build's entry (its `dist/index.js`): every aiProxy row is measured a second time on it,
   * as `<row>@baseline`, in the same interleaved rounds, and each row is compared with its copy.
   */
  baseline?: string;
  /** Start proxy children with `--cpu-prof` (profiles in bench/results/profiles). */
  cpuProf: boolean;
  /** Pin processes with taskset: proxy on CPU 1, upstream and load generator on CPU 0 (default when possible). */
  pin: boolean;
  /** Scale mode: concurrent streams. */
  streams: number;
  /** Scale mode: content chunks per streamed answer. */
  scaleChunks: number;
  /** Scale mode: how long the upstream takes to send one answer, ms. */
  streamMs: number;
  /** Scale mode: streams are started evenly over this many ms. */
  rampMs: number;
  /** Scale mode: upstream agent of aiProxy, its built-in default or an unbounded keep-alive agent. */
  agent: 'default' | 'unbounded';
  /** Scale mode: which server carries the streams; `both` runs the passthrough first as the reference. */
  scaleProxy: 'ollama' | 'passthrough' | 'both';
  /** Directory for the JSON results. */
  outDir: string;
}

const HELP = `Usage: npm run bench -- [flags]
  --mode=throughput|scale|all   default throughput
  --connections=N               default 32
  --duration=S                  measured seconds per row, default 10
  --rounds=N                    split each row's time into N rounds, rows interleaved, default 3
  --warmup=S                    warm-up seconds per row, default 2
  --chunks=N                    chunks per streamed answer (throughput mode), default 50
  --rows=a,b                    subset of: upstream,passthrough,ollama,raw,openai,ollama-tools,router,ollama-metrics,
                                ollama-tracing,balanced-3,balanced-failover,passthrough-stream,ollama-stream,
                                ollama-stream-observed
  --lib=dist|src|<file.js>      measure dist/index.js (default; run npm run build), lib/ through tsx,
                                or another build's dist/index.js (compare builds, same harness)
  --baseline=<file.js>          also measure every aiProxy row on another build (its dist/index.js),
                                in the same rounds, and print this build / that build per row
  --cpu-prof                    write a CPU profile of every proxy child and print its hot functions
  --no-pin                      do not pin; default: taskset puts the proxy alone on CPU 1 and the
                                upstream + load generator on CPU 0 (when there are 2+ CPUs and taskset)
  --streams=N                   scale: concurrent streams, default 1000
  --scale-chunks=N              scale: chunks per answer, default 200
  --stream-ms=MS                scale: upstream time per answer, default 4000
  --ramp-ms=MS                  scale: start the streams evenly over MS, default 1000
  --agent=default|unbounded     scale: aiProxy's default upstream agent, or keepAlive+maxSockets:Infinity
  --scale-proxy=both|ollama|passthrough  scale: server(s) under test; both (default) runs the
                                bare passthrough first as the reference, then aiProxy
  --out-dir=DIR                 default bench/results`;

function num(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${value}`);
  return n;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, name: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Parses `process.argv`-style flags; prints help and exits on `--help`. */
export function parseFlags(argv: string[]): BenchFlags {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      mode: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      chunks: { type: 'string' },
      rows: { type: 'string' },
      lib: { type: 'string' },
      baseline: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'no-pin': { type: 'boolean' },
      streams: { type: 'string' },
      'scale-chunks': { type: 'string' },
      'stream-ms': { type: 'string' },
      'ramp-ms': { type: 'string' },
      agent: { type: 'string' },
      'scale-proxy': { type: 'string' },
      'out-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    process.exit(0);
  }
  if (values.baseline !== undefined && !values.baseline.endsWith('.js'))
    throw new Error(`--baseline must name a build's dist/index.js, got ${values.baseline}`);
  return {
    mode: oneOf(values.mode, ['throughput', 'scale', 'all'] as const, 'throughput', 'mode'),
    connections: Math.max(1, Math.floor(num(values.connections, 32, 'connections'))),
    duration: num(values.duration, 10, 'duration'),
    warmup: num(values.warmup, 2, 'warmup'),
    rounds: Math.max(1, Math.floor(num(values.rounds, 3, 'rounds'))),
    chunks: Math.max(1, Math.floor(num(values.chunks, 50, 'chunks'))),
    rows: values.rows
      ? values.rows
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean)
      : [],
    lib: values.lib?.endsWith('.js') ? { path: values.lib } : oneOf(values.lib, ['dist', 'src'] as const, 'dist', 'lib'),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    cpuProf: values['cpu-prof'] ?? false,
    pin: !(values['no-pin'] ?? false),
    streams: Math.max(1, Math.floor(num(values.streams, 1000, 'streams'))),
    scaleChunks: Math.max(1, Math.floor(num(values['scale-chunks'], 200, 'scale-chunks'))),
    streamMs: num(values['stream-ms'], 4000, 'stream-ms'),
    rampMs: num(values['ramp-ms'], 1000, 'ramp-ms'),
    agent: oneOf(values.agent, ['default', 'unbounded'] as const, 'default', 'agent'),
    scaleProxy: oneOf(values['scale-proxy'], ['both', 'ollama', 'passthrough'] as const, 'both', 'scale-proxy'),
    outDir: values['out-dir'] ?? 'bench/results',
  };
}
