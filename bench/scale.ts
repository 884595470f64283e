/**
 * `--mode=scale`: N slow streams at once through one proxy (Ollama NDJSON → SSE by default):
 * do they all complete, how soon does the first token reach the client, how big does the proxy get?
 */
import { ownStats } from './child-ipc';
import { sampleCpus } from './cpu-sampler';
import { spawnChild, type ChildRuntime } from './children';
import type { BenchFlags } from './flags';
import { load, quantile } from './measure';
import { chatRequestBody } from './payloads';
import { clientPath, type ProxyOptions } from './proxies';
import { requestBytes, runStream, type StreamOutcome, type StreamSpec } from './stream-client';
import type { ScaleResult, TargetResult } from './table';

/** Runs `streams` streams starting evenly over `rampMs`; returns their outcomes and the peak concurrency. */
async function rampStreams(spec: StreamSpec, request: Buffer, streams: number, rampMs: number): Promise<{ outcomes: StreamOutcome[]; maxInFlight: number }> {
  let inFlight = 0;
  let maxInFlight = 0;
  const runs: Promise<StreamOutcome>[] = [];
  for (let i = 0; i < streams; i++) {
    runs.push(
      new Promise<void>((r) => setTimeout(r, (i * rampMs) / streams)).then(() => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return runStream(spec, request).finally(() => inFlight--);
      }),
    );
  }
  return { outcomes: await Promise.all(runs), maxInFlight };
}

/** One scale run against one server kind, with its own fresh upstream. */
async function scaleOnce(rt: ChildRuntime, kind: ScaleKind, flags: BenchFlags, profDir: string): Promise<ScaleResult> {
  const upstream = await spawnChild(rt, 'upstream', { chunks: flags.scaleChunks, streamMs: 0 }, flags.pin ? { cpu: 0 } : {});
  try {
    const proxy = await spawnChild(rt, 'proxies', { kind, entry: rt.libEntry, upstreamPort: upstream.port, agent: flags.agent } satisfies ProxyOptions, {
      ...(flags.pin ? { cpu: 1 } : {}),
      ...(flags.cpuProf ? { cpuProf: { dir: profDir, name: `scale-${kind}.cpuprofile` } } : {}),
    });
    try {
      const body = chatRequestBody(true);
      const path = clientPath(kind);
      const request = requestBytes({ port: proxy.port, path, body });
      const sse = kind !== 'passthrough';

      // Warm-up with fast streams (keep-alive load, then 200 fresh connections): the first requests
      // of a fresh process run cold code for tens of ms, which would queue the ramp's first streams.
      if (flags.warmup > 0) await load(`http://127.0.0.1:${proxy.port}${path}`, body, 32, flags.warmup);
      await rampStreams({ port: proxy.port, path, body, sse, deadline: performance.now() + 10_000 }, request, 200, 200);
      await upstream.pace(flags.streamMs);

      const [p0, u0] = await Promise.all([proxy.stats(), upstream.stats()]);
      const l0 = ownStats();
      const cpus = sampleCpus();
      const t0 = performance.now();
      const deadline = t0 + flags.rampMs + flags.streamMs * 3 + 10_000;
      const { outcomes, maxInFlight } = await rampStreams({ port: proxy.port, path, body, sse, deadline }, request, flags.streams, flags.rampMs);
      const wall = performance.now() - t0;
      const cpuPeakPct = cpus.stop();
      const l1 = ownStats();
      const [p1, u1] = await Promise.all([proxy.stats(), upstream.stats()]);

      const ok = outcomes.filter((o) => o.ok);
      // A stream that never showed its first token counts as infinitely late in the TTFC figures.
      const ttfc = Float64Array.from(outcomes.map((o) => (Number.isNaN(o.ttfc) ? Infinity : o.ttfc))).sort();
      const total = Float64Array.from(ok.map((o) => o.total)).sort();
      const errors: Record<string, number> = {};
      for (const o of outcomes) if (o.error) errors[o.error] = (errors[o.error] ?? 0) + 1;
      const pct = (micros: number): number => (micros / (wall * 1000)) * 100;
      return {
        proxy: kind === 'passthrough' ? 'express+HPM passthrough (NDJSON)' : 'aiProxy ollama NDJSON→SSE',
        agent:
          kind === 'passthrough'
            ? 'http.Agent({keepAlive:true})'
            : flags.agent === 'default'
              ? "aiProxy's default (keepAlive, maxSockets Infinity)"
              : 'http.Agent({keepAlive:true,maxSockets:Infinity})',
        streams: flags.streams,
        chunksPerStream: flags.scaleChunks,
        streamMs: flags.streamMs,
        rampMs: flags.rampMs,
        completed: ok.length,
        maxInFlight,
        ttfcP50Ms: quantile(ttfc, 0.5),
        ttfcP99Ms: quantile(ttfc, 0.99),
        ttfcMaxMs: quantile(ttfc, 1),
        totalP50Ms: quantile(total, 0.5),
        totalP99Ms: quantile(total, 0.99),
        chunksReceived: outcomes.reduce((n, o) => n + o.events, 0),
        errors,
        peakRssMb: p1.maxRssBytes / 2 ** 20,
        proxyCpuPct: pct(p1.cpuMicros - p0.cpuMicros),
        upstreamCpuPct: pct(u1.cpuMicros - u0.cpuMicros),
        loadgenCpuPct: pct(l1.cpuMicros - l0.cpuMicros),
        loopDelayP99Ms: { proxy: p1.loopDelayP99Ms, upstream: u1.loopDelayP99Ms, loadgen: l1.loopDelayP99Ms },
        loopDelayMaxMs: { proxy: p1.loopDelayMaxMs, upstream: u1.loopDelayMaxMs, loadgen: l1.loopDelayMaxMs },
        wallSeconds: wall / 1000,
        cpuPeakPct,
        ttfcByStartMs: outcomes.map((o) => Math.round(o.ttfc * 10) / 10),
      };
    } finally {
      await proxy.stop();
    }
  } finally {
    await upstream.stop();
  }
}

type ScaleKind = 'passthrough' | 'ollama';

/**
 * Runs the scale mode: by default the bare passthrough first (what this machine and architecture
 * allow at that load), then aiProxy, each with fresh processes.
 */
export async function runScale(rt: ChildRuntime, flags: BenchFlags, profDir: string, log: (s: string) => void): Promise<ScaleResult[]> {
  const kinds: ScaleKind[] = flags.scaleProxy === 'both' ? ['passthrough', 'ollama'] : [flags.scaleProxy];
  const results: ScaleResult[] = [];
  for (const kind of kinds) {
    log(`  ${kind} …`);
    results.push(await scaleOnce(rt, kind, flags, profDir));
  }
  return results;
}

/** The targets for this mode (they apply to aiProxy, not to the passthrough reference). */
export function scaleTargets(results: ScaleResult[]): TargetResult[] {
  const s = results.find((r) => r.proxy.startsWith('aiProxy'));
  if (!s) return [];
  return [
    { target: `all ${s.streams} concurrent streams complete`, measured: `${s.completed} / ${s.streams}`, pass: s.completed === s.streams },
    { target: 'TTFC p99 < 50 ms', measured: `${s.ttfcP99Ms.toFixed(2)} ms`, pass: s.ttfcP99Ms < 50 },
    { target: 'proxy peak RSS < 200 MB', measured: `${s.peakRssMb.toFixed(1)} MB`, pass: s.peakRssMb < 200 },
  ];
}
