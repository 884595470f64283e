import { validateConfig } from '../config';
import type { AiProxyConfig } from '../types';
import { upstreamPathAdvice } from './upstream-path';

export { upstreamPathAdvice };

/**
 * Warnings about a valid config that will probably not work as meant (today: an Ollama upstream
 * path Ollama does not serve). `aiProxy()` logs them through `debug` (`express-ai-proxy`); call this
 * to show them yourself at start-up. Throws `AiProxyConfigError` for an invalid config, as `aiProxy()` does.
 */
export function configWarnings(config: AiProxyConfig): string[] {
  const advice = upstreamPathAdvice(validateConfig(config));
  return advice ? [advice] : [];
}
