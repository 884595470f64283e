import { IncompleteUpstreamAnswerError, UpstreamFormatError } from '../errors';
import type { Completion } from '../openai-types';
import { buildCompletion, createdFrom, makeUsage } from './completion';
import { ollamaFastJson } from './ollama-fast-line';
import { finishEvent, mapFinishReason } from './finish-reason';
import type { Format, FormatContext, LlmRequest, StreamEvent, StreamState } from './format';
import { ollamaChatEvents, readLogprobs, readOllamaToolCalls, readThinking, type OpenAiToolCall } from './ollama-answer';
import { toOllamaChatBody, toOllamaGenerateBody } from './ollama-request';
import { describe, isRecord, streamError } from './util';

/** The `/api/chat` body (tools, JSON mode, thinking, images and the Ollama settings: see ollama-request.ts). */
export function toOllamaChat(req: LlmRequest): Record<string, unknown> {
  return toOllamaChatBody(req);
}

/** The `/api/generate` body (`raw: true` for a prompt already in the Llama 2 template). */
export function toOllamaGenerate(req: LlmRequest): Record<string, unknown> {
  return toOllamaGenerateBody(req);
}

/** The generated text of an Ollama answer or stream line: `message.content` (chat) or `response`. */
function ollamaText(body: Record<string, unknown>): string | undefined {
  if (isRecord(body.message) && typeof body.message.content === 'string') return body.message.content;
  if (typeof body.response === 'string') return body.response;
  return undefined;
}

/** The chat message's fields beyond the text: tool calls (content null when there is no text, as OpenAI sends it) and thinking. */
function messageExtras(text: string, toolCalls: OpenAiToolCall[], thinking: string | undefined): Record<string, unknown> | undefined {
  if (toolCalls.length === 0 && thinking === undefined) return undefined;
  const extras: Record<string, unknown> = {};
  if (toolCalls.length > 0) {
    if (text === '') extras.content = null;
    extras.tool_calls = toolCalls;
  }
  if (thinking !== undefined) extras.reasoning_content = thinking;
  return extras;
}

/** A non-streamed `/api/chat` or `/api/generate` answer as OpenAI JSON. */
export function fromOllama(body: unknown, req: LlmRequest, ctx: FormatContext): Completion {
  const text = isRecord(body) ? ollamaText(body) : undefined;
  if (!isRecord(body) || text === undefined) {
    const err = isRecord(body) ? streamError(body) : undefined;
    throw new UpstreamFormatError(
      err ? `Ollama answered with an error: ${err.message}` : `cannot read the Ollama answer: expected message.content or response; got ${describe(body)}`,
    );
  }
  if (body.done === false) throw new IncompleteUpstreamAnswerError('Ollama marked its answer unfinished (done: false)');
  const message = isRecord(body.message) ? body.message : undefined;
  const toolCalls = message ? readOllamaToolCalls(message) : [];
  const thinking = message ? readThinking(message) : undefined;
  const logprobs = readLogprobs(body);
  return buildCompletion(ctx.routeType, {
    text,
    // Ollama says "stop" when it answered with tool calls; OpenAI's clients look for "tool_calls".
    finishReason: toolCalls.length > 0 ? 'tool_calls' : mapFinishReason(body.done_reason),
    message: messageExtras(text, toolCalls, thinking),
    logprobs,
    // Ollama omits zero counts, which makeUsage reads as 0.
    usage: makeUsage(body.prompt_eval_count, body.eval_count),
    // The route's model name on every path, as the stream and X-LLM-Model say it.
    model: req.model,
    created: createdFrom(body.created_at),
  });
}

/** The text event of a `/api/generate` stream line, with its log-probabilities when asked for. */
function generateEvents(line: Record<string, unknown>, text: string | undefined): StreamEvent[] {
  if (!text) return [];
  const logprobs = readLogprobs(line);
  return [logprobs ? { type: 'text', text, logprobs } : { type: 'text', text }];
}

/** One NDJSON line of an Ollama stream. */
export function fromOllamaStreamLine(message: unknown): StreamEvent[] {
  if (!isRecord(message)) throw new UpstreamFormatError(`unexpected Ollama stream line: ${describe(message)}`);
  const err = streamError(message);
  if (err) return [err];
  const text = ollamaText(message);
  if (text === undefined && typeof message.done !== 'boolean') {
    throw new UpstreamFormatError(`unexpected Ollama stream line: ${describe(message)}`);
  }
  const events: StreamEvent[] = isRecord(message.message) ? ollamaChatEvents(message, text) : generateEvents(message, text);
  if (message.done === true) events.push(finishEvent(message.done_reason, message.prompt_eval_count, message.eval_count));
  return events;
}

/** `llama2_format: ollama`: Ollama's native `/api/chat` and `/api/generate`. */
export const ollamaFormat: Format = {
  toUpstream: (req: LlmRequest) => (req.kind === 'chat' ? toOllamaChat(req) : toOllamaGenerate(req)),
  fromUpstream: fromOllama,
  streamFraming: 'ndjson',
  fastStreamJson: (line: string, req: LlmRequest) => ollamaFastJson(line, req.kind === 'chat'),
  fromStreamMessage: (message: unknown, _req: LlmRequest, _ctx: FormatContext, _state: StreamState) => fromOllamaStreamLine(message),
};
