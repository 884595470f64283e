/**
 * The proxy-side cost of observability per request, in-process and without I/O: a request's
 * observation from start to statistics (request id, Server-Timing, statistics object) with
 * nothing on, Prometheus (`aiProxyMetrics()`), OpenTelemetry (SDK registered: spans batched,
 * metrics aggregated, both dropped at export) and both. Complements the `ollama-metrics`,
 * `ollama-tracing` and `ollama-stream-observed` rows of `npm run bench`, whose ratios are noisy on
 * a shared machine. Run: `node --import tsx bench/observability-cost.ts [all|none|metrics|tracing|both] [rounds] [requests]`
 * (defaults: all, 7, 20000).
 */
import { validateConfig } from '../lib/config';
import { RouteObservability } from '../lib/observability/observation';
import { aiProxyMetrics, type ObservabilityConfig } from '../lib';
import { reportStatistics } from '../lib/statistics';
import { registerDroppingOtelSdk } from './otel-sdk';

registerDroppingOtelSdk();

const MODES = ['none', 'metrics', 'tracing', 'both'] as const;
type Mode = (typeof MODES)[number];
const arg = process.argv[2] ?? 'all';
if (arg !== 'all' && !(MODES as readonly string[]).includes(arg)) throw new Error(`mode must be all, none, metrics, tracing or both, got ${arg}`);
const modes: readonly Mode[] = arg === 'all' ? MODES : [arg as Mode];
const rounds = Number(process.argv[3] ?? 7);
const n = Number(process.argv[4] ?? 20000);

const upstream_url = 'http://127.0.0.1:11434/api/chat';
const shared = aiProxyMetrics();
function routeFor(mode: Mode) {
  const observability: ObservabilityConfig = {};
  if (mode === 'metrics' || mode === 'both') observability.metrics = shared;
  if (mode === 'tracing' || mode === 'both') observability.tracing = true;
  const config = validateConfig({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url } },
    observability: { ...observability, route_name: mode },
  });
  return { config, route: new RouteObservability(config, new URL(upstream_url)) };
}
// Stand-ins with just what the observation touches (the real objects come with sockets).
const req = { headers: { 'content-type': 'application/json' } } as never;
const res = {
  setHeader() {},
  getHeader() {
    return undefined;
  },
  headersSent: false,
} as never;
const proxyReq = { setHeader() {} } as never;
const llmReq = { model: 'llama2', stream: true, body: {} };
function one({ config, route }: ReturnType<typeof routeFor>) {
  const obs = route.begin(req, res);
  obs.upstreamRequest(proxyReq);
  obs.upstreamResponded(res, true);
  obs.firstToken();
  obs.streamEnded();
  const exchange = { obs, llmReq, clientGone: false, timedOut: false } as never;
  reportStatistics(config, exchange, 200, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, undefined, {
    streamEnd: 'complete',
    finishReason: 'stop',
    relayedChunks: 5,
    upstreamStatus: 200,
  });
}

// Modes run interleaved, round by round, so that a noisy neighbour slows them all alike; each round
// gives wall time and this process's CPU time (user + system) per request; reported: median and best.
const routes = modes.map(routeFor);
const wall: number[][] = modes.map(() => []);
const cpu: number[][] = modes.map(() => []);
for (const r of routes) for (let i = 0; i < 20000; i++) one(r);
for (let round = 0; round < rounds; round++) {
  routes.forEach((r, m) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) one(r);
    const t1 = performance.now();
    const c = process.cpuUsage(c0);
    wall[m]!.push(((t1 - t0) * 1000) / n);
    cpu[m]!.push((c.user + c.system) / n);
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const best = (xs: number[]) => Math.min(...xs);
const f = (x: number) => x.toFixed(2).padStart(6);
process.stdout.write(`${rounds} rounds x ${n} requests per mode; µs per request (median / best)\n`);
modes.forEach((mode, m) => {
  process.stdout.write(`${mode.padEnd(8)} wall ${f(median(wall[m]!))} / ${f(best(wall[m]!))}   cpu ${f(median(cpu[m]!))} / ${f(best(cpu[m]!))}\n`);
});
process.exit(0);
