/**
 * `observability.tracing`: spans and metrics per the OpenTelemetry GenAI semantic conventions,
 * collected with the SDK's in-memory exporters; trace context continued from the client and
 * passed upstream.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { aiProxy } from '../../lib';
import { post, sseData } from '../support/http-client';
import { type ProxyApp, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { type FakeUpstream, startOllama } from '../support/upstreams';

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });

let ollama: FakeUpstream;
let proxy: ProxyApp;

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

before(async () => {
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  ollama = await startOllama();
  proxy = await startApp((app) => {
    app.use('/chat', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { observability: { tracing: true, route_name: 'chat' } })));
    app.use('/complete', aiProxy(llama2Config('completions', 'ollama', `${ollama.url}/api/generate`, { observability: { tracing: true } })));
    app.use('/untraced', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`)));
  });
});

after(async () => {
  await proxy.close();
  await ollama.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

beforeEach(() => {
  spans.reset();
  ollama.reset();
});

async function finishedSpans(n: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100 && spans.getFinishedSpans().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return spans.getFinishedSpans();
}

describe('spans', () => {
  test('a JSON answer: one CLIENT span with the GenAI attributes, child of the incoming traceparent, passed upstream', async () => {
    ollama.set({ promptTokens: 13, completionTokens: 6 });
    const r = await post(`${proxy.url}/chat`, chatBody(), { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } });
    assert.equal(r.status, 200);
    const [span, extra] = await finishedSpans(1);
    assert.ok(span);
    assert.equal(extra, undefined);
    assert.equal(span.name, 'chat llama2');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.spanContext().traceId, TRACE_ID);
    assert.equal(span.parentSpanContext?.spanId, CLIENT_SPAN);
    const a = span.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'llama2');
    assert.equal(a['gen_ai.request.model'], 'llama2');
    assert.equal(a['gen_ai.response.model'], 'llama2');
    assert.equal(a['gen_ai.usage.input_tokens'], 13);
    assert.equal(a['gen_ai.usage.output_tokens'], 6);
    assert.deepEqual(a['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(a['server.address'], '127.0.0.1');
    assert.equal(a['server.port'], ollama.port);
    assert.equal(a['http.response.status_code'], 200);
    assert.equal(a['express_ai_proxy.request_id'], r.headers.get('x-request-id'));
    assert.equal(a['error.type'], undefined);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    // The upstream sees the same trace, with our span as its parent.
    assert.equal(ollama.last().headers.traceparent, `00-${TRACE_ID}-${span.spanContext().spanId}-01`);
  });

  test('a completions route: operation text_completion', async () => {
    await post(`${proxy.url}/complete`, completionsBody());
    const [span] = await finishedSpans(1);
    assert.equal(span?.attributes['gen_ai.operation.name'], 'text_completion');
    assert.equal(span?.name, 'text_completion llama2');
  });

  test('without an incoming trace, a new one starts and still goes upstream', async () => {
    await post(`${proxy.url}/chat`, chatBody());
    const [span] = await finishedSpans(1);
    assert.ok(span);
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(ollama.last().headers.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  test('a stream: the span ends with the stream, not at its first byte', async () => {
    ollama.set({ tokens: ['a', ' b', ' c', ' d', ' e', ' f'], chunkDelayMs: 40 });
    const r = await post(`${proxy.url}/chat`, chatBody({ stream: true }));
    assert.equal(sseData(r.text).at(-1), '[DONE]');
    const [span] = await finishedSpans(1);
    assert.ok(span);
    const ms = span.duration[0] * 1000 + span.duration[1] / 1e6;
    assert.ok(ms >= 180, `span lasted ${ms} ms, the stream 200+`);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], 6);
    assert.equal(typeof span.attributes['express_ai_proxy.time_to_first_token_ms'], 'number');
  });

  test('an upstream error: span status ERROR with error.type', async () => {
    ollama.set({ fault: { kind: 'status', status: 503, body: { error: 'busy' } } });
    await post(`${proxy.url}/chat`, chatBody());
    const [span] = await finishedSpans(1);
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.attributes['error.type'], 'upstream_error');
    assert.equal(span?.attributes['http.response.status_code'], 503);
  });

  test("the proxy's own 400 gets a span too", async () => {
    await post(`${proxy.url}/chat`, { messages: 'x' });
    const [span] = await finishedSpans(1);
    assert.equal(span?.attributes['error.type'], 'client_error');
  });

  test('a route without tracing makes no span and passes the client traceparent through untouched', async () => {
    const tp = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
    await post(`${proxy.url}/untraced`, chatBody(), { headers: { traceparent: tp } });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(spans.getFinishedSpans().length, 0);
    assert.equal(ollama.last().headers.traceparent, tp);
  });
});

describe('metrics', () => {
  test('gen_ai.client.token.usage, operation.duration, time_to_first_token, time_per_output_token with the conventions attributes', async () => {
    await reader.forceFlush();
    metricExporter.reset();
    ollama.set({ promptTokens: 5, completionTokens: 3, tokens: ['a', ' b', ' c'] });
    await post(`${proxy.url}/chat`, chatBody());
    await post(`${proxy.url}/chat`, chatBody({ stream: true }));
    ollama.set({ fault: { kind: 'status', status: 500, body: { error: 'x' } } });
    await post(`${proxy.url}/chat`, chatBody());
    await finishedSpans(3);
    await reader.forceFlush();
    const all = metricExporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((s) => s.metrics);
    const byName = new Map(all.map((m) => [m.descriptor.name, m as HistogramMetricData]));
    for (const name of [
      'gen_ai.client.token.usage',
      'gen_ai.client.operation.duration',
      'gen_ai.server.time_to_first_token',
      'gen_ai.server.time_per_output_token',
    ]) {
      assert.ok(byName.has(name), `${name} missing: ${[...byName.keys()].join(', ')}`);
    }
    const tokens = byName.get('gen_ai.client.token.usage')!;
    assert.equal(tokens.descriptor.unit, '{token}');
    const input = tokens.dataPoints.filter((p) => p.attributes['gen_ai.token.type'] === 'input' && p.attributes['gen_ai.operation.name'] === 'chat');
    assert.ok(input.length > 0);
    assert.equal(input[0]!.attributes['gen_ai.request.model'], 'llama2');
    // Only the attributes the conventions require: the SDK hashes every one on every record (server.* are on the span).
    assert.deepEqual(Object.keys(input[0]!.attributes).sort(), ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model', 'gen_ai.token.type']);
    assert.ok(input.reduce((n, p) => n + p.value.count, 0) >= 2);
    const duration = byName.get('gen_ai.client.operation.duration')!;
    assert.equal(duration.descriptor.unit, 's');
    const failed = duration.dataPoints.filter((p) => p.attributes['error.type'] === 'upstream_error');
    assert.ok(failed.length > 0 && failed[0]!.value.count >= 1);
    const ttft = byName.get('gen_ai.server.time_to_first_token')!;
    assert.ok(ttft.dataPoints.reduce((n, p) => n + p.value.count, 0) >= 1);
    assert.deepEqual(ttft.dataPoints[0]!.value.buckets.boundaries.slice(0, 3), [0.001, 0.005, 0.01]);
  });
});
