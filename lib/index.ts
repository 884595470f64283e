export { aiProxy, type AiProxyMiddleware } from './ai-proxy';
export { validateConfig, type ResolvedConfig } from './config';
export { AiProxyConfigError, type ConfigProblem } from './errors';
export type {
  AiProxyConfig,
  AuthConfig,
  Llama2Format,
  LoggingConfig,
  ModelConfig,
  ModelOptions,
  OllamaKnobs,
  ProxyStatistics,
  RawDialect,
  RouteType,
} from './types';
export type { ChatCompletion, Completion, ErrorBody, FinishReason, TextCompletion, Usage } from './openai-types';
