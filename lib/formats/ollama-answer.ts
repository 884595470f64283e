import { randomBytes } from 'node:crypto';
import { UpstreamFormatError } from '../errors';
import type { StreamEvent } from './format';
import { tokenLogprob } from './raw-logprobs';
import { describe, isRecord } from './util';

/** An OpenAI tool call of an answer. */
export interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A fresh tool call id in OpenAI's shape (`call_` and 24 characters); the client sends it back with the result. */
export function toolCallId(): string {
  return `call_${randomBytes(18).toString('base64url')}`;
}

/**
 * Ollama's `message.tool_calls` (arguments as an object, id optional) as OpenAI's (arguments as a
 * JSON string, an id always). Empty when there are none.
 */
export function readOllamaToolCalls(message: Record<string, unknown>): OpenAiToolCall[] {
  const calls = message.tool_calls;
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) throw new UpstreamFormatError(`unexpected Ollama tool_calls: ${describe(calls)}`);
  return calls.map((c: unknown) => {
    const fn = isRecord(c) && isRecord(c.function) ? c.function : undefined;
    if (!fn || typeof fn.name !== 'string') throw new UpstreamFormatError(`unexpected Ollama tool call: ${describe(c)}`);
    const args = fn.arguments;
    return {
      id: isRecord(c) && typeof c.id === 'string' && c.id !== '' ? c.id : toolCallId(),
      type: 'function' as const,
      function: { name: fn.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) },
    };
  });
}

/** Ollama's `thinking`, when there is some. */
export function readThinking(message: Record<string, unknown>): string | undefined {
  return typeof message.thinking === 'string' && message.thinking !== '' ? message.thinking : undefined;
}

/**
 * Ollama's `logprobs` (`[{token, logprob, bytes, top_logprobs}]`, native since 0.12.11) in OpenAI's
 * `choices[].logprobs.content` shape; undefined when the answer has none.
 */
export function readLogprobs(body: Record<string, unknown>): unknown[] | undefined {
  if (!Array.isArray(body.logprobs)) return undefined;
  return body.logprobs.map((entry: unknown) => {
    const e = isRecord(entry) ? entry : {};
    return {
      ...tokenLogprob(e),
      top_logprobs: Array.isArray(e.top_logprobs) ? e.top_logprobs.map((t: unknown) => tokenLogprob(isRecord(t) ? t : {})) : [],
    };
  });
}

/** The thinking, tool call and text events of one chat stream line, in that order. */
export function ollamaChatEvents(line: Record<string, unknown>, text: string | undefined): StreamEvent[] {
  const message = isRecord(line.message) ? line.message : {};
  const events: StreamEvent[] = [];
  const thinking = readThinking(message);
  if (thinking !== undefined) events.push({ type: 'reasoning', text: thinking });
  for (const call of readOllamaToolCalls(message)) {
    events.push({ type: 'tool_call', id: call.id, name: call.function.name, arguments: call.function.arguments });
  }
  if (text) {
    const logprobs = readLogprobs(line);
    events.push(logprobs ? { type: 'text', text, logprobs } : { type: 'text', text });
  }
  return events;
}
