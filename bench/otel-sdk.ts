/**
 * A real OpenTelemetry SDK, registered as an app would register it: spans batched and metrics
 * aggregated in this process, then handed to exporters that drop them, so that the cost measured
 * is the proxy's and the SDK's, not a collector's. Shared by the tracing rows of bench/proxies.ts
 * (which load this module only when a row traces) and bench/observability-cost.ts.
 */
import { metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator, ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';

/** Registers the SDK (tracer and meter providers, W3C propagation) as this process's global one. */
export function registerDroppingOtelSdk(): void {
  const drop = {
    export: (_items: unknown, done: (r: { code: number }) => void) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] }));
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({
          exporter: { ...drop, selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE },
          exportIntervalMillis: 10_000,
        }),
      ],
    }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
