import type { ResolvedConfig } from '../config';
import type { RouteType } from '../types';

/** The path a native Ollama serves for each route type. */
const OLLAMA_PATHS: Readonly<Record<RouteType, string>> = {
  'llm/v1/chat': '/api/chat',
  'llm/v1/completions': '/api/generate',
  'llm/v1/embeddings': '/api/embed',
};

const OLLAMA_OPENAI_PATHS: Readonly<Record<RouteType, string>> = {
  'llm/v1/chat': '/v1/chat/completions',
  'llm/v1/completions': '/v1/completions',
  'llm/v1/embeddings': '/v1/embeddings',
};

/**
 * What to change when `llama2_format: ollama` points at a path Ollama does not serve, e.g. the Kong
 * docs' own `…:11434/v1/chat` (a real Ollama answers it with a bare 404). Undefined when the path is
 * right. The URL in the message has no query (it may carry a credential).
 */
export function upstreamPathAdvice(config: ResolvedConfig): string | undefined {
  const { llama2_format, upstream_url } = config.model.options;
  if (llama2_format !== 'ollama') return undefined;
  let url: URL;
  try {
    url = new URL(upstream_url);
  } catch {
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '');
  const expected = OLLAMA_PATHS[config.route_type];
  if (path.endsWith(expected) || path.includes('$(')) return undefined;
  // Keep a reverse proxy's prefix (`/ollama/api/chat`): cut at the first /api/ or /v1/.
  const cut = path.search(/\/(api|v1)(\/|$)/);
  const prefix = cut === -1 ? '' : path.slice(0, cut);
  const base = `${url.protocol}//${url.host}${prefix}`;
  return (
    `model.options.upstream_url "${url.origin}${url.pathname}" is not a path Ollama serves for ${config.route_type}: ` +
    `Ollama's native API is ${expected}. Set model.options.upstream_url to "${base}${expected}" ` +
    `(or use llama2_format "openai" with "${base}${OLLAMA_OPENAI_PATHS[config.route_type]}")`
  );
}
