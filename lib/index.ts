export { aiProxy, type AiProxyMiddleware } from './ai-proxy';
export { configWarnings } from './advice';
export {
  KongRoutes,
  kongRoutes,
  loadRoutes,
  parseKongRoutes,
  type KongRoute,
  type KongRoutesMiddleware,
  type KongRouteSpec,
  type KongRoutesDocument,
} from './kong';
export { aiProxyRouter, type AiProxyRouterOptions, type AiProxyRouterRoute } from './router';
export { coerceConfig, validateConfig, type ResolvedConfig } from './config';
export { AiProxyConfigError, type ConfigProblem } from './errors';
export { validateBalancedConfig } from './balancer/config';
export type {
  BalancedAiProxyConfig,
  BalancedAiProxyMiddleware,
  BalancerAlgorithm,
  BalancerConfig,
  CircuitBreakerConfig,
  FailoverCriterion,
  HealthCheckConfig,
  QueueConfig,
  TargetConfig,
} from './balancer/types';
export type {
  AiProxyConfig,
  AuthConfig,
  ForwardHeadersConfig,
  BalanceStatistics,
  Llama2Format,
  LoggingConfig,
  ModelConfig,
  ModelOptions,
  OllamaKnobs,
  ProxyStatistics,
  RawDialect,
  RouteType,
} from './types';
export * from './observability';
export type { ChatCompletion, Completion, ErrorBody, FinishReason, TextCompletion, Usage } from './openai-types';
