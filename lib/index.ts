export { aiProxy, type AiProxyMiddleware } from './ai-proxy';
export { validateConfig, type ResolvedConfig } from './config';
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
  BalanceStatistics,
  Llama2Format,
  LoggingConfig,
  ModelConfig,
  ModelOptions,
  ProxyStatistics,
  RawDialect,
  RouteType,
} from './types';
export type { ChatCompletion, Completion, ErrorBody, FinishReason, TextCompletion, Usage } from './openai-types';
