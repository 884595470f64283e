// The proxy under count, from the built package of the tree given: Express + aiProxy (ollama chat),
// with Prometheus metrics or OpenTelemetry tracing (the bench's dropping SDK, bench/otel-sdk.ts)
// when asked, or the bench's bare passthrough (Express + http-proxy-middleware) as the floor.
// `sdkfloor`: plain aiProxy behind a middleware that makes only the OpenTelemetry calls any GenAI
// instrumentation of a request must make (one span with the conventions' attributes, `traceparent`
// injected, the three histogram records of a JSON answer), to compare with `tracing`.
const http = require('node:http');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const [root, upstreamPort, port, what = 'plain'] = process.argv.slice(2);
const express = require(path.join(root, 'node_modules/express'));
const upstream = `http://127.0.0.1:${upstreamPort}`;
if (!['plain', 'passthrough', 'metrics', 'tracing', 'sdkfloor'].includes(what)) {
  // A mistyped server would otherwise be counted, and labelled, as something it is not.
  console.error(`unknown server "${what}": plain, passthrough, metrics, tracing or sdkfloor`);
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
    registerSdk();
    observability.tracing = true;
  }
  return lib.aiProxy({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: `${upstream}/api/chat` } },
    ...(what === 'metrics' || what === 'tracing' ? { observability } : {}),
  });
}

function registerSdk() {
  // The SDK registration is TypeScript, shared with the bench: loaded through tsx for this one module only.
  require('tsx/cjs/api').require(path.join(root, 'bench/otel-sdk.ts'), path.join(root, 'bench/instructions/proxy.cjs')).registerDroppingOtelSdk();
}

/**
 * The bare OpenTelemetry work of one JSON request, with attribute sets built once as the proxy's
 * integration builds them; it adds one `finish` listener (a few thousand instructions) that the
 * integration, hooked into the proxy's own flow, does without.
 */
function sdkFloor() {
  registerSdk();
  const api = require(path.join(root, 'node_modules/@opentelemetry/api'));
  const tracer = api.trace.getTracer('floor');
  const meter = api.metrics.getMeter('floor');
  const duration = meter.createHistogram('gen_ai.client.operation.duration', { unit: 's' });
  const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  const start = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'llama2',
    'gen_ai.request.model': 'llama2',
    'server.address': '127.0.0.1',
    'server.port': Number(upstreamPort),
  };
  const common = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'llama2', 'gen_ai.request.model': 'llama2' };
  const input = { ...common, 'gen_ai.token.type': 'input' };
  const output = { ...common, 'gen_ai.token.type': 'output' };
  const reasons = ['stop'];
  return (req, res, next) => {
    const t0 = performance.now();
    const parent = api.propagation.extract(api.context.active(), req.headers);
    const span = tracer.startSpan('chat llama2', { kind: api.SpanKind.CLIENT, attributes: start }, parent);
    api.propagation.inject(api.trace.setSpan(parent, span), {});
    res.on('finish', () => {
      span.setAttribute('gen_ai.response.model', 'llama2');
      span.setAttribute('gen_ai.usage.input_tokens', 37);
      span.setAttribute('gen_ai.usage.output_tokens', 12);
      span.setAttribute('gen_ai.response.finish_reasons', reasons);
      span.end();
      duration.record((performance.now() - t0) / 1000, common);
      tokens.record(37, input);
      tokens.record(12, output);
    });
    next();
  };
}

const app = express();
if (what === 'sdkfloor') app.use(sdkFloor());
app.post('/v1/chat/completions', handler());
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
