/**
 * The servers under test, one per child process: a bare Express + http-proxy-middleware
 * passthrough (the floor of this architecture) or Express + `aiProxy` for one `llama2_format`.
 * Runs as a child process of bench/run.ts (see `main` below).
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { failToParent, serveParent } from './child-ipc';

/**
 * What a proxy child serves. `passthrough` answers on the upstream's own path, aiProxy on
 * /v1/chat/completions; `router` is `aiProxyRouter` (ollama) mounted with `app.use('/v1', …)`.
 * `balanced-3`: three Ollama targets by round-robin (all the same upstream, so the row measures
 * the balancer's own cost); `balanced-failover`: the same with the first target refusing
 * connections (breakers on, their defaults).
 */
export type ProxyKind = 'passthrough' | 'ollama' | 'raw' | 'openai' | 'router' | 'balanced-3' | 'balanced-failover';

export interface ProxyOptions {
  kind: ProxyKind;
  /** Absolute path of the module exporting `aiProxy` (dist/index.js, a private tsc build, or lib/index.ts under tsx). */
  entry: string;
  upstreamPort: number;
  /** aiProxy's upstream agent: its built-in default, or keepAlive + maxSockets Infinity. */
  agent: 'default' | 'unbounded';
  /** Observability on: Prometheus metrics, OpenTelemetry (with an SDK registered), or both. */
  observe?: 'metrics' | 'tracing' | 'both';
}

/** Path a client requests on a proxy of this kind. */
export function clientPath(kind: ProxyKind): string {
  return kind === 'passthrough' ? '/api/chat' : '/v1/chat/completions';
}

/** Nothing listens on port 1 of the loopback: connections are refused at once. */
const DEAD_URL = 'http://127.0.0.1:1/api/chat';

const UPSTREAM_PATH: Record<Exclude<ProxyKind, 'passthrough' | 'balanced-3' | 'balanced-failover'>, string> = {
  ollama: '/api/chat',
  router: '/api/chat',
  raw: '/generate',
  openai: '/v1/chat/completions',
};

type Lib = Pick<typeof import('../lib/index'), 'aiProxy' | 'aiProxyMetrics' | 'aiProxyRouter'>;
type ObservabilityConfig = import('../lib/index').ObservabilityConfig;

/**
 * A module loaded when a row needs it: the library entry (lib/ sources or built dist/) is chosen at
 * run time, and the OpenTelemetry SDK (./otel-sdk) is loaded by the tracing rows only, so that the
 * others measure a process without it. buildApp is synchronous, hence require rather than import().
 */
function loadAtRunTime<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: chosen or needed at run time only
  return require(id) as T;
}

/** The `observability` of a row. Tracing gets a real SDK, as an app would have (see otel-sdk.ts). */
function observabilityFor(observe: ProxyOptions['observe'], lib: Lib): ObservabilityConfig | undefined {
  if (!observe) return undefined;
  const config: ObservabilityConfig = {};
  if (observe === 'metrics' || observe === 'both') config.metrics = lib.aiProxyMetrics();
  if (observe === 'tracing' || observe === 'both') {
    loadAtRunTime<typeof import('./otel-sdk')>('./otel-sdk').registerDroppingOtelSdk();
    config.tracing = true;
  }
  return config;
}

/** Builds the Express app for `opts` (exported so that a test or a profile can run it in-process). */
export function buildApp(opts: ProxyOptions): express.Express {
  const app = express();
  const upstream = `http://127.0.0.1:${opts.upstreamPort}`;
  if (opts.kind === 'passthrough') {
    app.post(clientPath('passthrough'), createProxyMiddleware({ target: upstream, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }));
    return app;
  }
  const lib = loadAtRunTime<Lib>(opts.entry);
  const observability = observabilityFor(opts.observe, lib);
  if (opts.kind === 'balanced-3' || opts.kind === 'balanced-failover') {
    const url = (n: number) => `${upstream}/api/chat?target=${n}`;
    const urls = opts.kind === 'balanced-3' ? [url(1), url(2), url(3)] : [DEAD_URL, url(2), url(3)];
    app.post(
      clientPath(opts.kind),
      lib.aiProxy({
        route_type: 'llm/v1/chat',
        targets: urls.map((u, i) => ({
          name: `t${i + 1}`,
          model: { provider: 'llama2' as const, name: 'llama2', options: { llama2_format: 'ollama' as const, upstream_url: u } },
        })),
        balancer: { algorithm: 'round-robin' },
      }),
    );
    return app;
  }
  const config = {
    route_type: 'llm/v1/chat' as const,
    model: {
      provider: 'llama2' as const,
      name: 'llama2',
      options: { llama2_format: opts.kind === 'router' ? ('ollama' as const) : opts.kind, upstream_url: upstream + UPSTREAM_PATH[opts.kind] },
    },
    ...(opts.agent === 'unbounded' ? { agent: new http.Agent({ keepAlive: true, maxSockets: Infinity }) } : {}),
    ...(observability ? { observability } : {}),
  };
  if (opts.kind === 'router') {
    // The same route behind the router, with a second model so the lookup is not a single-entry shortcut.
    const other = { ...config, model: { ...config.model, name: 'mistral' } };
    app.use('/v1', lib.aiProxyRouter({ routes: [other, config] }));
    return app;
  }
  app.post(clientPath(opts.kind), lib.aiProxy(config));
  return app;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as ProxyOptions;
  const server = http.createServer(buildApp(opts));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveParent(server);
}

if (require.main === module) main().catch(failToParent);
