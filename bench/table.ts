/** The results' shapes, the printed tables and the JSON file. */
import fs from 'node:fs';
import path from 'node:path';

/** One measured row of the throughput mode. */
export interface RowResult {
  name: string;
  label: string;
  /** Row this one is compared with. */
  ref?: string;
  reqPerSec: number;
  /** Upstream chunks delivered per second (streamed rows only). */
  chunksPerSec?: number;
  p50Ms: number;
  p99Ms: number;
  /** reqPerSec (chunksPerSec for streams) / the ref row's. */
  ratio?: number;
  /** p99 minus the ref row's p99, ms. */
  p99DeltaMs?: number;
  errors: number;
  /** CPU use of the proxy (or upstream, for the direct row) while measured, % of one core. */
  proxyCpuPct?: number;
  upstreamCpuPct: number;
  /** CPU use of this process (autocannon) while measured. */
  loadgenCpuPct: number;
  /** Peak RSS of the proxy child over its whole life (startup, probe, warm-up, run), MB. */
  peakRssMb?: number;
  /** req/s of each interleaved round (spread shows the machine's noise). */
  perRound: number[];
  /** 'ok', or why the row's answer was not what it should be (then it is not measured). */
  check: string;
}

/** One row of the build under test against its copy on the `--baseline` build, measured in the same rounds. */
export interface BaselineComparison {
  row: string;
  /** This build's req/s (chunks/s) over the baseline's, whole run. */
  ratio: number;
  /** The same, round by round: each round's pair measured seconds apart. */
  perRound: number[];
  /** Median of `perRound`. */
  perRoundMedian: number;
}

/** One pass/fail line. */
export interface TargetResult {
  target: string;
  measured: string;
  pass: boolean;
}

/** What the scale mode measured. */
export interface ScaleResult {
  proxy: string;
  agent: string;
  streams: number;
  chunksPerStream: number;
  streamMs: number;
  rampMs: number;
  completed: number;
  maxInFlight: number;
  ttfcP50Ms: number;
  ttfcP99Ms: number;
  ttfcMaxMs: number;
  /** Time from request to end of stream, ms. */
  totalP50Ms: number;
  totalP99Ms: number;
  chunksReceived: number;
  errors: Record<string, number>;
  peakRssMb: number;
  proxyCpuPct: number;
  upstreamCpuPct: number;
  /** This process (the stream clients). */
  loadgenCpuPct: number;
  /** Event-loop delay of each process over the run: how late it could react to a byte. */
  loopDelayP99Ms: { proxy: number; upstream: number; loadgen: number };
  loopDelayMaxMs: { proxy: number; upstream: number; loadgen: number };
  wallSeconds: number;
  /** Each CPU's highest busy % over a 250 ms window (machine-wide, from /proc/stat). */
  cpuPeakPct: number[];
  /** TTFC of every stream in start order (NaN: never), for plots. */
  ttfcByStartMs: number[];
}

const f = (n: number | undefined, digits: number): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

/** Rows with fewer cells than the head (a row not measured, and why) are left out of the column widths. */
function render(head: string[], body: string[][], rightFrom: number): string {
  const full = body.filter((r) => r.length === head.length);
  const widths = head.map((h, i) => Math.max(h.length, ...full.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.length < head.length
      ? [cells[0]!.padEnd(widths[0] ?? 0), ...cells.slice(1)].join('  ')
      : cells.map((c, i) => (i >= rightFrom ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The throughput table as text. */
export function formatRows(rows: RowResult[]): string {
  const head = ['row', 'req/s', 'chunks/s', 'p50 ms', 'p99 ms', 'ratio', 'Δp99 ms', 'errors', 'CPU% proxy', 'upstr', 'loadgen', 'peak RSS MB'];
  const body = rows.map((r) =>
    r.check !== 'ok'
      ? [r.label, 'NOT MEASURED: ' + r.check.split('\n')[0]]
      : [
          r.label,
          f(r.reqPerSec, 0),
          f(r.chunksPerSec, 0),
          f(r.p50Ms, 2),
          f(r.p99Ms, 2),
          r.ratio === undefined ? '-' : `${f(r.ratio, 3)} (vs ${r.ref})`,
          r.p99DeltaMs === undefined ? '-' : (r.p99DeltaMs >= 0 ? '+' : '') + f(r.p99DeltaMs, 2),
          String(r.errors),
          f(r.proxyCpuPct, 0),
          f(r.upstreamCpuPct, 0),
          f(r.loadgenCpuPct, 0),
          f(r.peakRssMb, 1),
        ],
  );
  return render(head, body, 1);
}

/** The scale result as text. */
export function formatScale(s: ScaleResult): string {
  const errors =
    Object.entries(s.errors)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ') || 'none';
  return [
    `proxy: ${s.proxy} (upstream agent: ${s.agent}); ${s.streams} streams × ${s.chunksPerStream} chunks over ${s.streamMs} ms each, started over ${s.rampMs} ms`,
    `completed streams   ${s.completed} / ${s.streams}   (max in flight ${s.maxInFlight}; chunks received ${s.chunksReceived})`,
    `TTFC                p50 ${f(s.ttfcP50Ms, 2)} ms   p99 ${f(s.ttfcP99Ms, 2)} ms   max ${f(s.ttfcMaxMs, 2)} ms`,
    `whole stream        p50 ${f(s.totalP50Ms, 0)} ms   p99 ${f(s.totalP99Ms, 0)} ms`,
    `proxy peak RSS      ${f(s.peakRssMb, 1)} MB   wall ${f(s.wallSeconds, 1)} s`,
    `CPU (avg of wall)   proxy ${f(s.proxyCpuPct, 0)}%   upstream ${f(s.upstreamCpuPct, 0)}%   clients ${f(s.loadgenCpuPct, 0)}%`,
    `CPU peak (250 ms)   ${s.cpuPeakPct.map((p, i) => `cpu${i} ${f(p, 0)}%`).join('   ') || 'n/a'}`,
    `event-loop delay    p99/max ms: proxy ${f(s.loopDelayP99Ms.proxy, 1)}/${f(s.loopDelayMaxMs.proxy, 1)}   upstream ${f(s.loopDelayP99Ms.upstream, 1)}/${f(s.loopDelayMaxMs.upstream, 1)}   clients ${f(s.loopDelayP99Ms.loadgen, 1)}/${f(s.loopDelayMaxMs.loadgen, 1)}`,
    `errors              ${errors}`,
    ...s.cpuPeakPct.flatMap((p, i) =>
      p >= 95 ? [`note                cpu${i} was saturated (${f(p, 0)}% busy in some 250 ms window): latencies include queueing for that core`] : [],
    ),
  ].join('\n');
}

/** PASS/FAIL lines. */
export function formatTargets(targets: TargetResult[]): string {
  return targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.measured}`).join('\n');
}

/** Each build-under-test row over its `--baseline` copy, whole run and round by round. */
export function formatBaseline(rows: BaselineComparison[], baseline: string): string {
  if (rows.length === 0) return `No row was measured on both builds (baseline: ${baseline}).`;
  const lines = rows.map((c) => {
    const lo = Math.min(...c.perRound);
    const hi = Math.max(...c.perRound);
    return `  ${c.row.padEnd(24)} ${c.ratio.toFixed(3)}   per round: median ${c.perRoundMedian.toFixed(3)}, ${lo.toFixed(3)}–${hi.toFixed(3)}`;
  });
  return `This build / the baseline (${baseline}), measured in the same rounds:\n${lines.join('\n')}`;
}

/** Writes `data` as pretty JSON, creating the directory. */
export function writeJson(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
}
