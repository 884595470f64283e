import type { ResolvedConfig } from './config';
import { readMessages } from './contract/chat-messages';
import { checkRequestFields } from './contract/check-fields';
import { resolveOllamaKnobs } from './contract/ollama-knobs';
import { contractKind, type ContractTarget } from './contract/request-fields';
import { ProxyError } from './errors';
import type { LlmRequest } from './formats/format';
import { rawDialectFor } from './formats/raw';

type Body = Record<string, unknown>;

/** The row of the contract table a route's upstream reads (`raw` is TGI or llama.cpp). */
export function contractTargetOf(config: ResolvedConfig): ContractTarget {
  const options = config.model.options;
  return options.llama2_format === 'raw' ? rawDialectFor(new URL(options.upstream_url).pathname, options.raw_dialect) : options.llama2_format;
}

/**
 * Checks a client body against the route and turns it into an `LlmRequest`, with the config's
 * model and tuning options applied (the config wins; what it leaves unset comes from the body).
 * Fields the upstream cannot honour are refused here, from the contract table.
 */
export function toLlmRequest(body: Body, config: ResolvedConfig, target: ContractTarget = contractTargetOf(config)): LlmRequest {
  const chat = config.route_type === 'llm/v1/chat';
  const hasMessages = body.messages !== undefined && body.messages !== null;
  const hasPrompt = body.prompt !== undefined && body.prompt !== null;
  if (hasMessages && hasPrompt) {
    throw new ProxyError(400, `the request has both "messages" and "prompt": this ${config.route_type} route expects only ${chat ? '"messages"' : '"prompt"'}`);
  }

  const options = config.model.options;
  const req: LlmRequest = {
    kind: chat ? 'chat' : 'completions',
    model: resolveModel(body.model, config.model.name, config.client_model),
    stream: resolveStream(body.stream, config.response_streaming),
    includeUsage: isObject(body.stream_options) && body.stream_options.include_usage === true,
    // Either name of the limit; the config's max_tokens replaces whichever the client used.
    max_tokens: options.max_tokens ?? readMaxTokens(body, chat),
    temperature: options.temperature ?? readNumber(body, 'temperature', 0, 5, false),
    top_p: options.top_p ?? readNumber(body, 'top_p', 0, 1, false),
    top_k: options.top_k ?? readNumber(body, 'top_k', 0, 500, true),
    stop: readStop(body.stop),
    body,
  };
  // Metrics and tracing count tokens too (config.observability).
  if (req.stream && (config.logging.log_statistics || config.observability.metrics || config.observability.tracing)) req.usageForStatistics = true;
  if (chat) req.messages = readMessages(body.messages, target);
  else req.prompt = readPrompt(body.prompt);
  if (checkRequestFields(body, contractKind(req.kind), target, config.auth.param_location === 'body' ? config.auth.param_name : undefined)) req.extras = true;
  if (target === 'ollama' && (req.extras || options.ollama)) {
    const knobs = resolveOllamaKnobs(body, options.ollama);
    if (knobs) req.ollama = knobs;
  }
  return req;
}

/** `max_completion_tokens` (chat) or the older `max_tokens`; the newer name wins when a client sends both. */
function readMaxTokens(body: Body, chat: boolean): number | undefined {
  const legacy = readNumber(body, 'max_tokens', 1, Infinity, true);
  return (chat ? readNumber(body, 'max_completion_tokens', 1, Infinity, true) : undefined) ?? legacy;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The model to send upstream: the configured one wins; a different client model is refused unless `client_model` is `replace`. */
export function resolveModel(requested: unknown, configured: string | undefined, policy: ResolvedConfig['client_model'] = 'reject'): string {
  if (requested !== undefined && requested !== null && typeof requested !== 'string') {
    throw new ProxyError(400, '"model" must be a string');
  }
  if (configured !== undefined) {
    if (requested && requested !== configured && policy !== 'replace')
      throw new ProxyError(400, `cannot use own model - must be: ${configured}`, 'invalid_request_error', 'model_not_allowed');
    return configured;
  }
  if (!requested) throw new ProxyError(400, 'model parameter not found in the request body or in the plugin config: send "model"');
  return requested;
}

function resolveStream(requested: unknown, policy: ResolvedConfig['response_streaming']): boolean {
  if (requested !== undefined && requested !== null && typeof requested !== 'boolean') {
    throw new ProxyError(400, '"stream" must be a boolean');
  }
  if (policy === 'always') return true;
  if (requested === true && policy === 'deny') {
    throw new ProxyError(400, 'response streaming is not enabled for this LLM', 'invalid_request_error', 'streaming_disabled');
  }
  return requested === true;
}

function readNumber(body: Body, key: string, min: number, max: number, integer: boolean): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ProxyError(400, `"${key}" must be ${integer ? 'an integer' : 'a number'} ${range}`, 'invalid_request_error', 'invalid_value', key);
  }
  return v;
}

function readStop(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  throw new ProxyError(400, '"stop" must be a string or an array of strings');
}

function readPrompt(v: unknown): string {
  if (typeof v === 'string') return v;
  // The openai SDK's completions.create accepts a one-element array; more than one prompt is a batch we don't do.
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  throw new ProxyError(400, 'this llm/v1/completions route expects "prompt": a string');
}
