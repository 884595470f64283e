import type { FinishReason } from '../openai-types';
import { makeUsage } from './completion';
import type { StreamEvent } from './format';

/**
 * Every finish vocabulary a Llama 2 server speaks, mapped to OpenAI's. TGI says
 * eos_token / stop_sequence / length, llama.cpp eos / word / limit, Ollama stop / length
 * (and load / unload for no-op calls, which are not listed and so end up as `stop`).
 */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  content_filter: 'content_filter',
  function_call: 'function_call',
  eos_token: 'stop',
  stop_sequence: 'stop',
  eos: 'stop',
  word: 'stop',
  limit: 'length',
};

/**
 * Maps an upstream finish reason to OpenAI's vocabulary. Unknown or missing values become `stop`:
 * the upstream did finish, and `stop` is the reason a client handles without surprise.
 */
export function mapFinishReason(reason: unknown): FinishReason {
  if (typeof reason !== 'string') return 'stop';
  return Object.prototype.hasOwnProperty.call(FINISH_REASONS, reason) ? (FINISH_REASONS[reason] as FinishReason) : 'stop';
}

/** The terminal event of a stream: the upstream's finish reason mapped, and its token counts. */
export function finishEvent(reason: unknown, promptTokens: unknown, completionTokens: unknown): StreamEvent {
  return { type: 'finish', finishReason: mapFinishReason(reason), usage: makeUsage(promptTokens, completionTokens) };
}
