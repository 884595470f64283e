export { aiProxy, type AiProxyMiddleware } from './ai-proxy';
export { aiProxyRouter, type AiProxyRouterOptions, type AiProxyRouterRoute } from './router';
export { validateConfig, type ResolvedConfig } from './config';
export { AiProxyConfigError, type ConfigProblem } from './errors';
export type {
  AiProxyConfig,
  AuthConfig,
  Llama2Format,
  LoggingConfig,
  ModelConfig,
  ModelOptions,
  ProxyStatistics,
  RawDialect,
  RouteType,
} from './types';
export type { ChatCompletion, Completion, ErrorBody, FinishReason, TextCompletion, Usage } from './openai-types';
