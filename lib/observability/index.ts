export { aiProxyMetrics, type AiProxyMetricsOptions } from './prometheus';
export { REQUEST_ID_HEADER } from './request-id';
export type { AiProxyMetrics, AiProxyOutcome, HeaderCarrier, ObservabilityConfig, RequestTimings, RouteInfo, StatisticsObserver } from './types';
