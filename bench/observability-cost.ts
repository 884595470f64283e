/**
 * The proxy-side cost of observability per request, in-process and without I/O: a request's
 * observation from start to statistics (request id, Server-Timing, statistics object) with
 * nothing on, Prometheus (`aiProxyMetrics()`), OpenTelemetry (SDK registered: spans batched,
 * metrics aggregated, both dropped at export) and both. Complements the `ollama-metrics`,
 * `ollama-tracing` and `ollama-stream-observed` rows of `npm run bench`, whose ratios are noisy on
 * a shared machine. Run: `node --import tsx bench/observability-cost.ts [none|metrics|tracing|both]`.
 */
import { validateConfig } from '../lib/config';
import { RouteObservability } from '../lib/observability/observation';
import { aiProxyMetrics, type ObservabilityConfig } from '../lib';
import { reportStatistics } from '../lib/statistics';
import { registerDroppingOtelSdk } from './otel-sdk';

registerDroppingOtelSdk();

const mode = process.argv[2] ?? 'both';
if (!['none', 'metrics', 'tracing', 'both'].includes(mode)) throw new Error(`mode must be none, metrics, tracing or both, got ${mode}`);
const observability: ObservabilityConfig = {};
if (mode === 'metrics' || mode === 'both') observability.metrics = aiProxyMetrics();
if (mode === 'tracing' || mode === 'both') observability.tracing = true;
const config = validateConfig({
  route_type: 'llm/v1/chat',
  model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat' } },
  observability,
});
const route = new RouteObservability(config, new URL(config.model.options.upstream_url));
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
function one() {
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
for (let i = 0; i < 20000; i++) one();
const n = 100000;
const t0 = performance.now();
for (let i = 0; i < n; i++) one();
process.stdout.write(`${mode}: ${(((performance.now() - t0) * 1000) / n).toFixed(2)} µs/request\n`);
