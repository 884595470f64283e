/**
 * Example app: an Express server with a Llama 2 chat route and a completions route, configured by
 * environment variables (see example-app/README.md). Start it with `npm run example`.
 */
import express from 'express';
import { aiProxy, AiProxyConfigError, aiProxyMetrics, type AiProxyConfig, type AiProxyMetrics, type AuthConfig, type Llama2Format, type RouteType } from '../lib';

const env = process.env;

const UPSTREAM_URL = env.UPSTREAM_URL || 'http://127.0.0.1:11434/api/chat';
const LLAMA2_FORMAT = (env.LLAMA2_FORMAT || 'ollama') as Llama2Format;
// An empty MODEL_NAME (set but blank) leaves the model to each request's "model" field.
const MODEL_NAME = env.MODEL_NAME ?? 'llama2';
const ROUTE_TYPE = (env.ROUTE_TYPE || 'llm/v1/chat') as RouteType;
const PORT = Number(env.PORT || 8000);
// Loopback by default: the routes forward to a model server and carry its credentials.
const HOST = env.HOST || '127.0.0.1';
const RESPONSE_STREAMING = env.RESPONSE_STREAMING as AiProxyConfig['response_streaming'];
// Prometheus metrics on GET /metrics (prom-client's default registry), unless METRICS=0.
const METRICS = env.METRICS !== '0';

/** Only what is set goes into the config, so aiProxy() reports a half-set pair itself. */
function authFromEnv(): AuthConfig | undefined {
  const { AUTH_HEADER_NAME: header_name, AUTH_HEADER_VALUE: header_value } = env;
  if (!header_name && !header_value) return undefined;
  return { ...(header_name ? { header_name } : {}), ...(header_value ? { header_value } : {}) };
}

/**
 * The completions route's upstream: COMPLETIONS_UPSTREAM_URL when set; for Ollama, the
 * `/api/generate` next to UPSTREAM_URL's `/api/chat`; otherwise none.
 */
function completionsUpstream(): string | undefined {
  if (env.COMPLETIONS_UPSTREAM_URL) return env.COMPLETIONS_UPSTREAM_URL;
  // An unparsable UPSTREAM_URL is left for aiProxy() to report, with the chat route's problems.
  if (LLAMA2_FORMAT !== 'ollama' || !URL.canParse(UPSTREAM_URL)) return undefined;
  const url = new URL(UPSTREAM_URL);
  if (!url.pathname.endsWith('/api/chat')) return undefined;
  url.pathname = url.pathname.replace(/\/api\/chat$/, '/api/generate');
  return url.toString();
}

function routeConfig(route_type: RouteType, upstream_url: string, route_name: string, metrics: AiProxyMetrics | undefined): AiProxyConfig {
  const auth = authFromEnv();
  return {
    route_type,
    model: {
      provider: 'llama2',
      ...(MODEL_NAME ? { name: MODEL_NAME } : {}),
      options: { llama2_format: LLAMA2_FORMAT, upstream_url },
    },
    ...(auth ? { auth } : {}),
    ...(RESPONSE_STREAMING ? { response_streaming: RESPONSE_STREAMING } : {}),
    observability: { route_name, ...(metrics ? { metrics } : {}) },
  };
}

/** GET /metrics in Prometheus' text format, from prom-client's default registry. */
function serveMetrics(app: express.Express): void {
  // Loaded here only: prom-client is an optional peer of express-ai-proxy.
  const { register } = require('prom-client') as typeof import('prom-client');
  app.get('/metrics', (_req, res) => {
    register.metrics().then(
      (text) => res.type(register.contentType).send(text),
      (err: Error) => res.status(500).type('text/plain').send(err.message),
    );
  });
}

function main(): void {
  if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
    console.error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
    process.exit(1);
  }

  const app = express();
  const completionsUrl = completionsUpstream();
  const metrics = METRICS ? aiProxyMetrics() : undefined;
  if (METRICS) serveMetrics(app);
  try {
    app.post('/llama2-chat', aiProxy(routeConfig(ROUTE_TYPE, UPSTREAM_URL, 'llama2-chat', metrics)));
    if (completionsUrl) app.post('/llama2-completions', aiProxy(routeConfig('llm/v1/completions', completionsUrl, 'llama2-completions', metrics)));
  } catch (err) {
    // The config is checked once, here; its message lists every problem with its path.
    if (err instanceof AiProxyConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const server = app.listen(PORT, HOST, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : PORT;
    const base = `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}`;
    const model = MODEL_NAME ? `model ${MODEL_NAME}` : 'the model named in each request';
    console.log(`express-ai-proxy example listening on ${base}`);
    console.log(`  POST ${base}/llama2-chat        -> ${UPSTREAM_URL} (${LLAMA2_FORMAT}, ${ROUTE_TYPE}, ${model})`);
    if (completionsUrl) console.log(`  POST ${base}/llama2-completions -> ${completionsUrl} (${LLAMA2_FORMAT}, llm/v1/completions)`);
    else console.log('  /llama2-completions is off: set COMPLETIONS_UPSTREAM_URL to enable it');
    if (METRICS) console.log(`  GET  ${base}/metrics            Prometheus metrics (METRICS=0 turns them off)`);
    // Without a configured model name, the request has to name one.
    const modelField = MODEL_NAME ? '' : '"model":"llama2",';
    const chatBody = ROUTE_TYPE === 'llm/v1/chat'
      ? `{${modelField}"messages":[{"role":"system","content":"You are a mathematician"},{"role":"user","content":"What is 1+1?"}]}`
      : `{${modelField}"prompt":"What is 1+1?"}`;
    console.log('\nTry it:\n');
    console.log(`curl -X POST ${base}/llama2-chat -H 'Content-Type: application/json' --data '${chatBody}'`);
    if (completionsUrl) {
      console.log(`curl -N -X POST ${base}/llama2-completions -H 'Content-Type: application/json' --data '{${modelField}"stream":true,"prompt":"Once upon a time"}'`);
    }
  });
  server.on('error', (err) => {
    console.error(`cannot listen on ${HOST}:${PORT}: ${err.message}`);
    process.exit(1);
  });

  // Ctrl-C or a process manager: stop accepting, let answers in flight finish.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
    });
  }
}

main();
