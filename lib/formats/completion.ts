import { randomBytes } from 'node:crypto';
import type { ChatCompletion, FinishReason, TextCompletion, Usage } from '../openai-types';
import type { RouteType } from '../types';
import { toLegacyLogprobs } from './legacy-logprobs';

// Ids need to be unique, not secret: a random per-process prefix and a counter cost nothing per
// request, where 12 random bytes each time showed up in the benchmark's profile.
const idPrefix = randomBytes(8).toString('hex');
let idCounter = 0;

/** A fresh OpenAI-style id: `chatcmpl-…` for chat, `cmpl-…` for completions. */
export function completionId(routeType: RouteType): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${routeType === 'llm/v1/chat' ? 'chatcmpl' : 'cmpl'}-${idPrefix}${idCounter.toString(36)}`;
}

/** The current time in unix seconds, as OpenAI's `created`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Unix seconds from a date string (e.g. Ollama's RFC 3339 `created_at`), else now. */
export function createdFrom(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  return nowSeconds();
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
}

/** OpenAI usage from token counts; absent or invalid counts are 0 and the total is their sum. */
export function makeUsage(promptTokens?: unknown, completionTokens?: unknown): Usage {
  const prompt_tokens = count(promptTokens);
  const completion_tokens = count(completionTokens);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/** What a format extracted from an upstream answer. */
export interface AnswerParts {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  model: string;
  /** Defaults to now. */
  created?: number;
  /** Defaults to a fresh id. */
  id?: string;
  /** Chat only: more fields of the message (`tool_calls`, `reasoning_content`, `content: null`). */
  message?: Record<string, unknown> | undefined;
  /** The tokens' log-probabilities, in OpenAI's chat `logprobs.content` shape (converted for completions). */
  logprobs?: unknown[] | undefined;
}

/** An OpenAI `chat.completion` object with one choice. */
export function buildChatCompletion(parts: AnswerParts): ChatCompletion {
  return {
    id: parts.id ?? completionId('llm/v1/chat'),
    object: 'chat.completion',
    created: parts.created ?? nowSeconds(),
    model: parts.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: parts.text, ...parts.message },
        logprobs: parts.logprobs ? { content: parts.logprobs, refusal: null } : null,
        finish_reason: parts.finishReason,
      },
    ],
    usage: parts.usage,
  };
}

/** An OpenAI `text_completion` object with one choice. */
export function buildTextCompletion(parts: AnswerParts): TextCompletion {
  return {
    id: parts.id ?? completionId('llm/v1/completions'),
    object: 'text_completion',
    created: parts.created ?? nowSeconds(),
    model: parts.model,
    choices: [{ index: 0, text: parts.text, logprobs: parts.logprobs ? toLegacyLogprobs(parts.logprobs) : null, finish_reason: parts.finishReason }],
    usage: parts.usage,
  };
}

/** The OpenAI answer object the route promises: chat.completion or text_completion. */
export function buildCompletion(routeType: RouteType, parts: AnswerParts): ChatCompletion | TextCompletion {
  return routeType === 'llm/v1/chat' ? buildChatCompletion(parts) : buildTextCompletion(parts);
}
