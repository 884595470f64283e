import type { ResolvedConfig } from './config';
import type { Exchange } from './exchange';
import type { Format, FormatContext } from './formats/format';
import { safeHeaderValue } from './headers/header-value';

/** What the relays need to know about the route an answer belongs to (built once per route). */
export interface RouteParts {
  config: ResolvedConfig;
  format: Format;
  ctx: FormatContext;
  /** The configured auth values, kept out of everything sent back or logged. */
  secrets: string[];
}

/** `X-LLM-Model: llama2/<model>`, unless `model_name_header` is off. */
export function modelHeader(parts: RouteParts, exchange: Exchange): Record<string, string> | undefined {
  return parts.config.model_name_header ? { 'x-llm-model': modelHeaderValue(exchange.llmReq.model) } : undefined;
}

/** The `X-LLM-Model` value: the model name comes from the client when `model.name` is unset. */
export function modelHeaderValue(model: string): string {
  return safeHeaderValue(`llama2/${model}`);
}
