import { secretsOf } from './auth';
import type { ResolvedConfig } from './config';
import { logStats } from './debug';
import type { Exchange } from './exchange';
import type { Usage } from './openai-types';
import { redactorOf } from './redact';
import type { ProxyStatistics } from './types';

/**
 * Reports one answered request when `logging.log_statistics` is on: a `debug` line
 * (`express-ai-proxy:stats`) and the `on_statistics` hook. A throwing hook never breaks the answer.
 */
export function reportStatistics(
  config: ResolvedConfig,
  exchange: Exchange,
  status: number,
  usage: Usage | undefined,
  responsePayload: string | undefined,
): void {
  if (!config.logging.log_statistics) return;
  const prompt = usage?.prompt_tokens ?? 0;
  const completion = usage?.completion_tokens ?? 0;
  const { input_cost, output_cost } = config.model.options;
  const stats: ProxyStatistics = {
    route_type: config.route_type,
    provider: 'llama2',
    model: exchange.llmReq.model,
    llama2_format: config.model.options.llama2_format,
    streamed: exchange.llmReq.stream,
    status,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    latency_ms: Math.round(performance.now() - exchange.startedAt),
  };
  if (input_cost !== undefined || output_cost !== undefined) {
    stats.cost = (prompt * (input_cost ?? 0) + completion * (output_cost ?? 0)) / 1_000_000;
  }
  if (config.logging.log_payloads) {
    // The hook is a way out of the proxy like any other: configured secrets never reach it.
    const redactor = redactorOf(secretsOf(config.auth));
    stats.request_payload = redactor.redact(JSON.stringify(withoutParam(exchange.llmReq.body, config.auth.param_name)));
    if (responsePayload !== undefined) stats.response_payload = redactor.redact(responsePayload);
  }
  logStats('%s %s status=%d prompt_tokens=%d completion_tokens=%d latency_ms=%d', stats.route_type, stats.model, status, prompt, completion, stats.latency_ms);
  try {
    config.logging.on_statistics?.(stats);
  } catch (err) {
    logStats('on_statistics threw: %s', (err as Error).message);
  }
}

/** A client may send the auth body parameter itself (allow_override); it is a secret either way. */
function withoutParam(body: Record<string, unknown>, param: string | undefined): Record<string, unknown> {
  if (param === undefined || !(param in body)) return body;
  const { [param]: _secret, ...rest } = body;
  return rest;
}
