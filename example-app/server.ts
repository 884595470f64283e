/**
 * Example app: an Express server with the Kong docs' routes (routes.yaml and an admin API on port
 * 8001), a Llama 2 chat and completions route, and one OpenAI baseURL on /v1 (chat, completions,
 * embeddings, models, health), configured by environment variables (see example-app/README.md).
 * With no UPSTREAM_URL it starts a clearly labelled demo upstream on loopback, so the docs' curl
 * answers on a fresh machine. Start it with `npm run example`.
 */
import path from 'node:path';
import express from 'express';
import {
  aiProxy,
  aiProxyMetrics,
  aiProxyRouter,
  AiProxyConfigError,
  configWarnings,
  kongRoutes,
  parseKongRoutes,
  type AiProxyConfig,
  type AiProxyMetrics,
  type AiProxyRouterRoute,
  type AuthConfig,
  type Llama2Format,
  type RouteType,
} from '../lib';
import { readRoutesFile } from '../lib/kong';
import { adminApi } from './admin-api';
import { DEMO_ANSWER, startDemoUpstream } from './demo-upstream';

const env = process.env;

const LLAMA2_FORMAT = (env.LLAMA2_FORMAT || 'ollama') as Llama2Format;
// An empty MODEL_NAME (set but blank) leaves the model to each request's "model" field.
const MODEL_NAME = env.MODEL_NAME ?? 'llama2';
const ROUTE_TYPE = (env.ROUTE_TYPE || 'llm/v1/chat') as RouteType;
const PORT = Number(env.PORT || 8000);
// Loopback by default: the routes forward to a model server and carry its credentials.
const HOST = env.HOST || '127.0.0.1';
const ADMIN_PORT = env.ADMIN_PORT === 'off' ? undefined : Number(env.ADMIN_PORT || 8001);
// The admin API has no authentication: whoever reaches it controls the routes.
const ADMIN_HOST = env.ADMIN_HOST || '127.0.0.1';
// Prometheus metrics on GET /metrics (prom-client's default registry), unless METRICS=0.
const METRICS = env.METRICS !== '0';
let metrics: AiProxyMetrics | undefined;
const ROUTES_FILE = env.ROUTES_FILE ?? path.join(__dirname, 'routes.yaml');
const RESPONSE_STREAMING = env.RESPONSE_STREAMING as AiProxyConfig['response_streaming'];
const EMBEDDINGS_MODEL = env.EMBEDDINGS_MODEL || 'nomic-embed-text';
const MODEL_ALIASES = (env.MODEL_ALIASES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
/** The Kong docs' placeholder hosts, pointed at a real (or the demo) server. */
const PLACEHOLDER_HOSTS = new Set(['llama2-server.local', 'ollama-server.local']);

/** Only what is set goes into the config, so aiProxy() reports a half-set pair itself. */
function authFromEnv(): AuthConfig | undefined {
  const { AUTH_HEADER_NAME: header_name, AUTH_HEADER_VALUE: header_value } = env;
  if (!header_name && !header_value) return undefined;
  return { ...(header_name ? { header_name } : {}), ...(header_value ? { header_value } : {}) };
}

/** A sibling Ollama path next to UPSTREAM_URL's `/api/chat` (for ollama only). */
function ollamaSibling(upstream: string, sibling: string): string | undefined {
  // An unparsable UPSTREAM_URL is left for aiProxy() to report, with the chat route's problems.
  if (LLAMA2_FORMAT !== 'ollama' || !URL.canParse(upstream)) return undefined;
  const url = new URL(upstream);
  if (!url.pathname.endsWith('/api/chat')) return undefined;
  url.pathname = url.pathname.replace(/\/api\/chat$/, sibling);
  return url.toString();
}

function routeConfig(route_type: RouteType, upstream_url: string, name = MODEL_NAME): AiProxyConfig {
  const auth = authFromEnv();
  return {
    route_type,
    model: {
      provider: 'llama2',
      ...(name ? { name } : {}),
      options: { llama2_format: LLAMA2_FORMAT, upstream_url },
    },
    ...(auth ? { auth } : {}),
    ...(RESPONSE_STREAMING && route_type !== 'llm/v1/embeddings' ? { response_streaming: RESPONSE_STREAMING } : {}),
    ...(metrics ? { observability: { metrics } } : {}),
  };
}

/** GET /metrics in Prometheus' text format, from prom-client's default registry. */
function serveMetrics(app: express.Express): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded here only: prom-client is an optional peer of express-ai-proxy
  const { register } = require('prom-client') as typeof import('prom-client');
  app.get('/metrics', (_req, res) => {
    register.metrics().then(
      (text) => res.type(register.contentType).send(text),
      (err: Error) => res.status(500).type('text/plain').send(err.message),
    );
  });
}

/** Points the docs' placeholder hosts at `origin` (a real server, or the demo upstream). */
function placeholderRewriter(origin: string | undefined): (config: AiProxyConfig) => AiProxyConfig {
  return (config) => {
    const model = config?.model as AiProxyConfig['model'] | undefined;
    const field = model?.options?.upstream_url !== undefined ? 'options' : 'short';
    const url = field === 'options' ? model?.options?.upstream_url : model?.upstream_url;
    if (!origin || typeof url !== 'string' || !URL.canParse(url) || !PLACEHOLDER_HOSTS.has(new URL(url).hostname)) return config;
    const u = new URL(url);
    const target = new URL(origin);
    u.protocol = target.protocol;
    u.host = target.host;
    const rewritten = u.toString();
    console.log(`  ${url} -> ${rewritten} (the docs' placeholder host)`);
    return field === 'options'
      ? { ...config, model: { ...model!, options: { ...model!.options, upstream_url: rewritten } } }
      : { ...config, model: { ...model!, upstream_url: rewritten } };
  };
}

function exitWith(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main(): Promise<void> {
  if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) exitWith(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  if (ADMIN_PORT !== undefined && (!Number.isInteger(ADMIN_PORT) || ADMIN_PORT < 0 || ADMIN_PORT > 65535))
    exitWith(`ADMIN_PORT must be a port number or "off", got ${JSON.stringify(env.ADMIN_PORT)}`);

  let demo: Awaited<ReturnType<typeof startDemoUpstream>> | undefined;
  if (!env.UPSTREAM_URL) {
    demo = await startDemoUpstream();
    console.log(`No UPSTREAM_URL set: started the DEMO upstream on ${demo.url} (canned answers, not a model).`);
  }
  const UPSTREAM_URL = env.UPSTREAM_URL || `${demo!.url}/api/chat`;
  const placeholderOrigin = demo ? demo.url : LLAMA2_FORMAT === 'ollama' && URL.canParse(UPSTREAM_URL) ? new URL(UPSTREAM_URL).origin : undefined;
  const rewrite = placeholderRewriter(placeholderOrigin);

  const app = express();
  metrics = METRICS ? aiProxyMetrics() : undefined;
  if (METRICS) serveMetrics(app);
  const completionsUrl = env.COMPLETIONS_UPSTREAM_URL || ollamaSibling(UPSTREAM_URL, '/api/generate');
  const embeddingsUrl = env.EMBEDDINGS_UPSTREAM_URL || ollamaSibling(UPSTREAM_URL, '/api/embed');
  const warnings: string[] = [];
  let docsRoutes;
  try {
    // The docs' routes first: a route created on the admin API takes over its path at once.
    let doc: unknown = ROUTES_FILE ? readRoutesFile(ROUTES_FILE) : undefined;
    if (doc !== undefined) {
      doc = parseKongRoutes(doc).map((r) => ({ ...r, plugins: (r.plugins ?? []).map((p) => ({ ...p, config: rewrite(p.config) })) }));
      for (const r of doc as { name: string; plugins: { config: AiProxyConfig }[] }[]) {
        for (const p of r.plugins) for (const w of configWarnings(p.config)) warnings.push(`route ${r.name}: ${w}`);
      }
    }
    docsRoutes = kongRoutes(doc);
    app.use(docsRoutes);

    const chat = routeConfig(ROUTE_TYPE, UPSTREAM_URL);
    app.use('/llama2-chat', aiProxy(chat));
    if (completionsUrl) app.use('/llama2-completions', aiProxy(routeConfig('llm/v1/completions', completionsUrl)));

    // One OpenAI baseURL for the whole app: point the openai SDK, LangChain or the AI SDK at /v1.
    const routes: AiProxyRouterRoute[] = [];
    const name = MODEL_NAME || 'llama2';
    routes.push({ ...routeConfig(ROUTE_TYPE, UPSTREAM_URL, name), ...(ROUTE_TYPE === 'llm/v1/chat' ? { aliases: MODEL_ALIASES } : {}) });
    if (completionsUrl && ROUTE_TYPE !== 'llm/v1/completions') routes.push(routeConfig('llm/v1/completions', completionsUrl, name));
    if (embeddingsUrl) routes.push(routeConfig('llm/v1/embeddings', embeddingsUrl, EMBEDDINGS_MODEL));
    app.use('/v1', aiProxyRouter({ routes }));
    for (const { aliases: _aliases, ...r } of routes) for (const w of configWarnings(r)) warnings.push(w);
  } catch (err) {
    // Configs are checked once, here; the message lists every problem with its path.
    if (err instanceof AiProxyConfigError) exitWith(err.message);
    throw err;
  }
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', upstream: demo ? 'demo' : 'configured' });
  });

  const server = app.listen(PORT, HOST, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : PORT;
    const base = `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}`;
    const model = MODEL_NAME ? `model ${MODEL_NAME}` : 'the model named in each request';
    console.log(`express-ai-proxy example listening on ${base}`);
    if (demo) console.log(`  (DEMO upstream: answers are "${DEMO_ANSWER.slice(0, 60)}…")`);
    for (const r of docsRoutes.routes.list()) console.log(`  ${r.spec.methods?.join(',') ?? 'ANY'} ${r.spec.paths.join(' ')}  (routes file: ${r.spec.name})`);
    console.log(`  POST ${base}/llama2-chat        -> ${UPSTREAM_URL} (${LLAMA2_FORMAT}, ${ROUTE_TYPE}, ${model})`);
    if (completionsUrl) console.log(`  POST ${base}/llama2-completions -> ${completionsUrl} (${LLAMA2_FORMAT}, llm/v1/completions)`);
    else console.log('  /llama2-completions is off: set COMPLETIONS_UPSTREAM_URL to enable it');
    console.log(`  OpenAI baseURL ${base}/v1  (POST /chat/completions, /completions, /embeddings; GET /models, /health)`);
    console.log(`  GET  ${base}/health`);
    if (METRICS) console.log(`  GET  ${base}/metrics            Prometheus metrics (METRICS=0 turns them off)`);
    for (const w of warnings) console.warn(`warning: ${w}`);
    // Without a configured model name, the request has to name one.
    const modelField = MODEL_NAME ? '' : '"model":"llama2",';
    const chatBody =
      ROUTE_TYPE === 'llm/v1/chat'
        ? `{${modelField}"messages":[{"role":"system","content":"You are a mathematician"},{"role":"user","content":"What is 1+1?"}]}`
        : `{${modelField}"prompt":"What is 1+1?"}`;
    console.log('\nTry it:\n');
    console.log(`curl -X POST ${base}/llama2-chat -H 'Content-Type: application/json' --data '${chatBody}'`);
    if (completionsUrl) {
      console.log(
        `curl -N -X POST ${base}/llama2-completions -H 'Content-Type: application/json' --data '{${modelField}"stream":true,"prompt":"Once upon a time"}'`,
      );
    }
  });
  server.on('error', (err) => exitWith(`cannot listen on ${HOST}:${PORT}: ${err.message}`));

  let admin: ReturnType<typeof app.listen> | undefined;
  if (ADMIN_PORT !== undefined) {
    admin = adminApi(docsRoutes.routes, { rewrite }).listen(ADMIN_PORT, ADMIN_HOST, () => {
      const address = admin!.address();
      const port = typeof address === 'object' && address ? address.port : ADMIN_PORT;
      console.log(`admin API (Kong docs subset, no auth) on http://${ADMIN_HOST.includes(':') ? `[${ADMIN_HOST}]` : ADMIN_HOST}:${port}`);
      if (!['127.0.0.1', '::1', 'localhost'].includes(ADMIN_HOST))
        console.warn('warning: the admin API is reachable beyond this machine and has no authentication');
    });
    admin.on('error', (err) => exitWith(`cannot listen on ${ADMIN_HOST}:${ADMIN_PORT} (admin API; ADMIN_PORT=off turns it off): ${err.message}`));
  }

  // Ctrl-C or a process manager: stop accepting, let answers in flight finish.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      admin?.close();
      admin?.closeIdleConnections();
      demo?.server.close();
      demo?.server.closeIdleConnections();
      server.close(() => process.exit(0));
      server.closeIdleConnections();
    });
  }
}

void main();
