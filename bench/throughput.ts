/**
 * Default mode: the same small chat request through each server (one child process per server),
 * measured with autocannon from this (parent) process, rows interleaved over several rounds.
 */
import { spawnChild, type Child, type ChildRuntime } from './children';
import type { BenchFlags } from './flags';
import { load, probe, quantile, type ProbeResult } from './measure';
import { chatRequestBody, toolsRequestBody } from './payloads';
import { clientPath, type ProxyKind, type ProxyOptions } from './proxies';
import type { BaselineComparison, RowResult, TargetResult } from './table';

interface RowSpec {
  name: string;
  label: string;
  /** Server under test; undefined = the upstream itself. */
  proxy?: ProxyKind;
  stream: boolean;
  ref?: string;
  /** Observability switched on in the proxy (rows measuring its cost). */
  observe?: ProxyOptions['observe'];
  /** Returns 'ok' or what is wrong with the answer. */
  check(p: ProbeResult, chunks: number): string;
  /** The client's request; defaults to the plain chat request. */
  body?: () => Buffer;
  /** The library entry of this row's proxy when it is not the build under test (`--baseline` copies). */
  entry?: string;
}

/** Suffix of a row's copy measured on the `--baseline` build. */
export const BASELINE = '@baseline';

const isAiProxy = (spec: RowSpec): boolean => spec.proxy !== undefined && spec.proxy !== 'passthrough';

/**
 * The rows, each aiProxy row followed by its copy on the baseline build. A copy is compared with
 * the same reference row as the original, or with the reference's own copy when that is an aiProxy
 * row too (`ollama-tools` against `ollama@baseline`), so both builds' ratios read alike.
 */
export function withBaseline(specs: RowSpec[], entry: string): RowSpec[] {
  const copied = new Set(specs.filter(isAiProxy).map((s) => s.name));
  return specs.flatMap((spec) => {
    if (!isAiProxy(spec)) return [spec];
    const copy: RowSpec = { ...spec, name: spec.name + BASELINE, label: `${spec.label} [baseline]`, entry };
    if (spec.ref !== undefined && copied.has(spec.ref)) copy.ref = spec.ref + BASELINE;
    return [spec, copy];
  });
}

function countOf(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

function expectJson(p: ProbeResult, read: (j: unknown) => unknown): string {
  if (p.status !== 200) return `HTTP ${p.status}: ${p.body.slice(0, 300)}`;
  try {
    const content = read(JSON.parse(p.body));
    return typeof content === 'string' && content.length > 0 ? 'ok' : `no answer text in ${p.body.slice(0, 300)}`;
  } catch {
    return `not JSON: ${p.body.slice(0, 300)}`;
  }
}

/** The tool call of an OpenAI answer, read back as a client would: name and parsed arguments. */
function checkToolCall(p: ProbeResult): string {
  if (p.status !== 200) return `HTTP ${p.status}: ${p.body.slice(0, 300)}`;
  try {
    const choice = (
      JSON.parse(p.body) as {
        choices?: Array<{ finish_reason?: unknown; message?: { tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> } }>;
      }
    ).choices?.[0];
    const fn = choice?.message?.tool_calls?.[0]?.function;
    if (choice?.finish_reason !== 'tool_calls' || fn?.name !== 'get_weather' || typeof fn.arguments !== 'string')
      return `no tool call in ${p.body.slice(0, 300)}`;
    return (JSON.parse(fn.arguments) as { city?: unknown }).city === 'Paris' ? 'ok' : `wrong arguments: ${fn.arguments}`;
  } catch {
    return `not JSON: ${p.body.slice(0, 300)}`;
  }
}

const ollamaText = (j: unknown): unknown => (j as { message?: { content?: unknown } } | null)?.message?.content;
const openaiText = (j: unknown): unknown => (j as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message?.content;

function checkNdjson(p: ProbeResult, chunks: number): string {
  if (p.status !== 200) return `HTTP ${p.status}: ${p.body.slice(0, 300)}`;
  const lines = countOf(p.body, '\n');
  return lines === chunks + 1 ? 'ok' : `expected ${chunks + 1} NDJSON lines, got ${lines}`;
}

function checkSse(p: ProbeResult, chunks: number): string {
  if (p.status !== 200) return `HTTP ${p.status}: ${p.body.slice(0, 300)}`;
  if (!p.contentType.startsWith('text/event-stream')) return `content-type ${p.contentType}`;
  if (!p.body.includes('data: [DONE]')) return `no [DONE] in ${p.body.slice(-300)}`;
  // Every upstream token must come out as one chunk carrying `"content":"<non-empty>"`.
  const withText = p.body.split('\n\n').filter((e) => /"content":"[^"]/.test(e)).length;
  return withText === chunks ? 'ok' : `expected ${chunks} content chunks, got ${withText}`;
}

/** Every row, in the order printed. */
export const ROWS: RowSpec[] = [
  { name: 'upstream', label: '1 upstream direct (Ollama JSON)', stream: false, check: (p) => expectJson(p, ollamaText) },
  { name: 'passthrough', label: '2 express+HPM passthrough', proxy: 'passthrough', stream: false, check: (p) => expectJson(p, ollamaText) },
  { name: 'ollama', label: '3a aiProxy ollama', proxy: 'ollama', stream: false, ref: 'passthrough', check: (p) => expectJson(p, openaiText) },
  { name: 'raw', label: '3b aiProxy raw (TGI)', proxy: 'raw', stream: false, ref: 'passthrough', check: (p) => expectJson(p, openaiText) },
  { name: 'openai', label: '3c aiProxy openai', proxy: 'openai', stream: false, ref: 'passthrough', check: (p) => expectJson(p, openaiText) },
  { name: 'ollama-tools', label: '3d aiProxy ollama tool call', proxy: 'ollama', stream: false, ref: 'ollama', check: checkToolCall, body: toolsRequestBody },
  {
    name: 'ollama-metrics',
    label: '3e aiProxy ollama + Prometheus',
    proxy: 'ollama',
    observe: 'metrics',
    stream: false,
    ref: 'ollama',
    check: (p) => expectJson(p, openaiText),
  },
  {
    name: 'ollama-tracing',
    label: '3f aiProxy ollama + OpenTelemetry SDK',
    proxy: 'ollama',
    observe: 'tracing',
    stream: false,
    ref: 'ollama',
    check: (p) => expectJson(p, openaiText),
  },
  { name: 'router', label: '3g aiProxyRouter ollama (/v1)', proxy: 'router', stream: false, ref: 'ollama', check: (p) => expectJson(p, openaiText) },
  {
    name: 'balanced-3',
    label: '3h aiProxy ollama, 3 targets round-robin',
    proxy: 'balanced-3',
    stream: false,
    ref: 'ollama',
    check: (p) => expectJson(p, openaiText),
  },
  {
    name: 'balanced-failover',
    label: '3i aiProxy ollama, 3 targets, 1 down',
    proxy: 'balanced-failover',
    stream: false,
    ref: 'ollama',
    check: (p) => expectJson(p, openaiText),
  },
  { name: 'passthrough-stream', label: '4a HPM passthrough NDJSON stream', proxy: 'passthrough', stream: true, check: checkNdjson },
  { name: 'ollama-stream', label: '4b aiProxy ollama NDJSON→SSE', proxy: 'ollama', stream: true, ref: 'passthrough-stream', check: checkSse },
  {
    name: 'ollama-stream-observed',
    label: '4c 4b + Prometheus + OpenTelemetry',
    proxy: 'ollama',
    observe: 'both',
    stream: true,
    ref: 'ollama-stream',
    check: checkSse,
  },
];

const CPU_PROXY = 1;
const CPU_LOADGEN = 0;

/** A row's server and what has been measured on it so far. */
interface RowRun {
  spec: RowSpec;
  proxy?: Child;
  url: string;
  body: Buffer;
  check: string;
  ok: number;
  seconds: number;
  errors: number;
  latencies: Float64Array[];
  /** req/s of each round. */
  perRound: number[];
  proxyCpuMicros: number;
  upstreamCpuMicros: number;
  loadgenCpuMicros: number;
  wallMicros: number;
}

async function startRow(rt: ChildRuntime, spec: RowSpec, upstream: Child, flags: BenchFlags, profDir: string): Promise<RowRun> {
  const proxy = spec.proxy
    ? await spawnChild(
        rt,
        'proxies',
        {
          kind: spec.proxy,
          entry: spec.entry ?? rt.libEntry,
          upstreamPort: upstream.port,
          agent: 'default',
          ...(spec.observe ? { observe: spec.observe } : {}),
        } satisfies ProxyOptions,
        {
          ...(flags.pin ? { cpu: CPU_PROXY } : {}),
          ...(flags.cpuProf ? { cpuProf: { dir: profDir, name: `${spec.name}.cpuprofile` } } : {}),
        },
      )
    : undefined;
  const url = `http://127.0.0.1:${(proxy ?? upstream).port}${spec.proxy ? clientPath(spec.proxy) : '/api/chat'}`;
  const body = spec.body ? spec.body() : chatRequestBody(spec.stream);
  let check: string;
  try {
    check = spec.check(await probe(url, body), flags.chunks);
  } catch (err) {
    check = `probe failed: ${(err as Error).message}`;
  }
  return {
    spec,
    ...(proxy ? { proxy } : {}),
    url,
    body,
    check,
    ok: 0,
    seconds: 0,
    errors: 0,
    latencies: [],
    perRound: [],
    proxyCpuMicros: 0,
    upstreamCpuMicros: 0,
    loadgenCpuMicros: 0,
    wallMicros: 0,
  };
}

/** One measured slot of a row, accumulated into it. */
async function measureSlot(run: RowRun, upstream: Child, connections: number, seconds: number): Promise<void> {
  const [p0, u0] = await Promise.all([run.proxy?.stats(), upstream.stats()]);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await load(run.url, run.body, connections, seconds);
  const c1 = process.cpuUsage(c0);
  run.wallMicros += (performance.now() - t0) * 1000;
  const [p1, u1] = await Promise.all([run.proxy?.stats(), upstream.stats()]);
  run.ok += r.ok;
  run.seconds += r.seconds;
  run.errors += r.errors;
  run.latencies.push(r.latencies);
  run.perRound.push(r.reqPerSec);
  if (p0 && p1) run.proxyCpuMicros += p1.cpuMicros - p0.cpuMicros;
  run.upstreamCpuMicros += u1.cpuMicros - u0.cpuMicros;
  run.loadgenCpuMicros += c1.user + c1.system;
}

function pooled(parts: Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all.sort();
}

function toResult(run: RowRun, chunks: number, peakRssMb: number | undefined): RowResult {
  const { spec } = run;
  const base = { name: spec.name, label: spec.label, ...(spec.ref ? { ref: spec.ref } : {}) };
  if (run.check !== 'ok' || run.seconds === 0) {
    return { ...base, reqPerSec: NaN, p50Ms: NaN, p99Ms: NaN, errors: run.errors, upstreamCpuPct: NaN, loadgenCpuPct: NaN, perRound: [], check: run.check };
  }
  const lat = pooled(run.latencies);
  const reqPerSec = run.ok / run.seconds;
  const pct = (micros: number): number => (micros / run.wallMicros) * 100;
  return {
    ...base,
    reqPerSec,
    ...(spec.stream ? { chunksPerSec: reqPerSec * chunks } : {}),
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    errors: run.errors,
    ...(run.proxy ? { proxyCpuPct: pct(run.proxyCpuMicros) } : {}),
    upstreamCpuPct: pct(run.upstreamCpuMicros),
    loadgenCpuPct: pct(run.loadgenCpuMicros),
    ...(peakRssMb !== undefined ? { peakRssMb } : {}),
    perRound: run.perRound,
    check: run.check,
  };
}

/** Adds the ratio columns: each row against its ref row. */
export function compare(rows: RowResult[]): void {
  for (const r of rows) {
    const ref = rows.find((x) => x.name === r.ref);
    if (!ref || ref.check !== 'ok' || r.check !== 'ok') continue;
    r.ratio = r.chunksPerSec !== undefined && ref.chunksPerSec !== undefined ? r.chunksPerSec / ref.chunksPerSec : r.reqPerSec / ref.reqPerSec;
    r.p99DeltaMs = r.p99Ms - ref.p99Ms;
  }
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Each row that has a `--baseline` copy, against it. */
export function compareWithBaseline(rows: RowResult[]): BaselineComparison[] {
  const out: BaselineComparison[] = [];
  for (const copy of rows) {
    if (!copy.name.endsWith(BASELINE) || copy.check !== 'ok') continue;
    const row = rows.find((r) => r.name === copy.name.slice(0, -BASELINE.length));
    if (!row || row.check !== 'ok') continue;
    // A round in which the copy served nothing (all errors) has no ratio.
    const perRound = row.perRound.flatMap((v, i) => (copy.perRound[i]! > 0 ? [v / copy.perRound[i]!] : []));
    out.push({ row: row.name, ratio: row.reqPerSec / copy.reqPerSec, perRound, perRoundMedian: median(perRound) });
  }
  return out;
}

/** The targets for this mode. */
export function throughputTargets(rows: RowResult[], connections: number): TargetResult[] {
  const by = (n: string): RowResult | undefined => rows.find((r) => r.name === n && r.check === 'ok');
  const out: TargetResult[] = [];
  const ollama = by('ollama');
  const pass = by('passthrough');
  if (ollama && pass) {
    out.push({
      target: `ollama chat req/s ≥ 0.85 × passthrough (${connections} connections)`,
      measured: `${ollama.reqPerSec.toFixed(0)} / ${pass.reqPerSec.toFixed(0)} = ${(ollama.ratio ?? NaN).toFixed(3)}`,
      pass: (ollama.ratio ?? 0) >= 0.85,
    });
    out.push({
      target: 'ollama chat p99 ≤ passthrough p99 + 2 ms',
      measured: `${ollama.p99Ms.toFixed(2)} ms vs ${pass.p99Ms.toFixed(2)} + 2 ms`,
      pass: ollama.p99Ms <= pass.p99Ms + 2,
    });
  } else if (rows.some((r) => r.name === 'ollama') && rows.some((r) => r.name === 'passthrough')) {
    out.push({ target: 'ollama chat vs passthrough', measured: 'a row was not measured', pass: false });
  }
  const s = by('ollama-stream');
  const sp = by('passthrough-stream');
  if (s && sp) {
    out.push({
      target: 'streaming chunks/s ≥ 0.8 × NDJSON passthrough',
      measured: `${(s.chunksPerSec ?? 0).toFixed(0)} / ${(sp.chunksPerSec ?? 0).toFixed(0)} = ${(s.ratio ?? NaN).toFixed(3)}`,
      pass: (s.ratio ?? 0) >= 0.8,
    });
  } else if (rows.some((r) => r.name === 'ollama-stream') && rows.some((r) => r.name === 'passthrough-stream')) {
    out.push({ target: 'streaming vs passthrough', measured: 'a row was not measured', pass: false });
  }
  // Observability must stay cheap: each observed row within 5 % of the same row without it.
  for (const name of ['ollama-metrics', 'ollama-tracing', 'ollama-stream-observed']) {
    const row = by(name);
    if (row && row.ratio !== undefined) {
      out.push({ target: `${name} ≥ 0.95 × ${row.ref}`, measured: row.ratio.toFixed(3), pass: row.ratio >= 0.95 });
    }
  }
  return out;
}

/**
 * Runs the selected rows. The upstream and one process per proxy row are started first; after a
 * warm-up of each, the rows are measured in `flags.rounds` interleaved rounds (row A, B, C, A, B,
 * C, …), so that a slow patch of the machine hits every row alike instead of one row.
 */
export async function runThroughput(rt: ChildRuntime, flags: BenchFlags, profDir: string, log: (s: string) => void): Promise<RowResult[]> {
  const unknown = flags.rows.filter((r) => !ROWS.some((s) => s.name === r));
  if (unknown.length > 0) throw new Error(`unknown rows: ${unknown.join(', ')}; known: ${ROWS.map((r) => r.name).join(', ')}`);
  const chosen = flags.rows.length === 0 ? ROWS : ROWS.filter((s) => flags.rows.includes(s.name));
  const specs = flags.baseline !== undefined ? withBaseline(chosen, flags.baseline) : chosen;

  const upstream = await spawnChild(rt, 'upstream', { chunks: flags.chunks, streamMs: 0 }, flags.pin ? { cpu: CPU_LOADGEN } : {});
  const runs: RowRun[] = [];
  try {
    for (const spec of specs) {
      const run = await startRow(rt, spec, upstream, flags, profDir);
      runs.push(run);
      if (run.check !== 'ok') {
        log(`  ${spec.label}: not measured: ${run.check}`);
        await run.proxy?.stop();
        delete run.proxy;
      }
    }
    const live = runs.filter((r) => r.check === 'ok');
    if (flags.warmup > 0) {
      log(`  warming up ${live.length} rows, ${flags.warmup} s each`);
      for (const run of live) await load(run.url, run.body, flags.connections, flags.warmup);
    }
    const slot = flags.duration / flags.rounds;
    // Every other round runs the rows in reverse: a row measured right after another gains or loses
    // a few per cent against the same row measured after a third (seen on 2026-12-06), and a row
    // compared with the one beside it would otherwise carry that bias in every round.
    const reversed = [...live].reverse();
    for (let round = 1; round <= flags.rounds; round++) {
      log(`  round ${round}/${flags.rounds}: ${live.length} rows × ${slot.toFixed(1)} s`);
      for (const run of round % 2 === 1 ? live : reversed) await measureSlot(run, upstream, flags.connections, slot);
    }
    const results: RowResult[] = [];
    for (const run of runs) {
      const stats = await run.proxy?.stats();
      results.push(toResult(run, flags.chunks, stats ? stats.maxRssBytes / 2 ** 20 : undefined));
    }
    compare(results);
    return results;
  } finally {
    for (const run of runs) await run.proxy?.stop();
    await upstream.stop();
  }
}
