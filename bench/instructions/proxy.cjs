// The proxy under count, from the built package of the tree given: Express + aiProxy (ollama chat),
// with Prometheus metrics or OpenTelemetry tracing (the bench's dropping SDK, bench/otel-sdk.ts)
// when asked, or the bench's bare passthrough (Express + http-proxy-middleware) as the floor.
const http = require('node:http');
const path = require('node:path');

const [root, upstreamPort, port, what = 'plain'] = process.argv.slice(2);
const express = require(path.join(root, 'node_modules/express'));
const upstream = `http://127.0.0.1:${upstreamPort}`;
if (!['plain', 'passthrough', 'metrics', 'tracing'].includes(what)) {
  // A mistyped server would otherwise be counted, and labelled, as something it is not.
  console.error(`unknown server "${what}": plain, passthrough, metrics or tracing`);
  process.exit(2);
}

function handler() {
  if (what === 'passthrough') {
    const { createProxyMiddleware } = require(path.join(root, 'node_modules/http-proxy-middleware'));
    // The bench's row 2, with the whole upstream path as target (the driver posts to the OpenAI path).
    return createProxyMiddleware({ target: `${upstream}/api/chat`, ignorePath: true, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) });
  }
  const lib = require(path.join(root, 'dist/index.js'));
  const observability = {};
  if (what === 'metrics') observability.metrics = lib.aiProxyMetrics();
  if (what === 'tracing') {
    // The SDK registration is TypeScript, shared with the bench: loaded through tsx for this one module only.
    require('tsx/cjs/api').require(path.join(root, 'bench/otel-sdk.ts'), path.join(root, 'bench/instructions/proxy.cjs')).registerDroppingOtelSdk();
    observability.tracing = true;
  }
  return lib.aiProxy({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: `${upstream}/api/chat` } },
    ...(what === 'plain' ? {} : { observability }),
  });
}

const app = express();
app.post('/v1/chat/completions', handler());
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
