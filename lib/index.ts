export { aiProxy, type AiProxyMiddleware } from './ai-proxy';
export { validateConfig, type ResolvedConfig } from './config';
export { AiProxyConfigError, type ConfigProblem } from './errors';
export type {
  AiProxyConfig,
  AuthConfig,
  ForwardHeadersConfig,
  Llama2Format,
  LoggingConfig,
  ModelConfig,
  ModelOptions,
  ProxyStatistics,
  RawDialect,
  RouteType,
} from './types';
export * from './observability';
export type { ChatCompletion, Completion, ErrorBody, FinishReason, TextCompletion, Usage } from './openai-types';
