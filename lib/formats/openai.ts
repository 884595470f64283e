import { IncompleteUpstreamAnswerError, UpstreamFormatError } from '../errors';
import type { ChatCompletion, Completion, TextCompletion, Usage } from '../openai-types';
import { completionId, createdFrom, makeUsage } from './completion';
import { mapFinishReason } from './finish-reason';
import type { Format, FormatContext, LlmRequest, StreamEvent, StreamState } from './format';
import { describe, isRecord, streamError } from './util';

/**
 * The client's OpenAI body, passed on with the configured model, the resolved tuning options and
 * `stream` set explicitly. `stream_options` is only kept on a streamed request (OpenAI refuses it
 * otherwise), and carries `include_usage` when the client asked for usage or statistics need it.
 */
export function toOpenAIRequest(req: LlmRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req.body, model: req.model, stream: req.stream };
  if (req.max_tokens !== undefined) {
    // The limit goes under the name(s) the client used: newer OpenAI models refuse `max_tokens`, so
    // a configured cap must not add it next to `max_completion_tokens`, nor be bypassed by it.
    const completionName = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null;
    if (completionName) body.max_completion_tokens = req.max_tokens;
    if (!completionName || (body.max_tokens !== undefined && body.max_tokens !== null)) body.max_tokens = req.max_tokens;
  }
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.top_k !== undefined) body.top_k = req.top_k;
  if (!req.stream) delete body.stream_options;
  else if (req.includeUsage || req.usageForStatistics) {
    body.stream_options = { ...(isRecord(body.stream_options) ? body.stream_options : {}), include_usage: true };
  }
  return body;
}

/** OpenAI usage with absent counts as 0; extra fields (`*_details`) are kept. */
function normaliseUsage(usage: unknown): Usage {
  if (!isRecord(usage)) return makeUsage();
  return { ...usage, ...makeUsage(usage.prompt_tokens, usage.completion_tokens) };
}

/** Maps a finish reason inside a choice; null (not finished yet) stays null. */
function mapChoiceFinish(reason: unknown) {
  return reason === null ? null : mapFinishReason(reason);
}

/** A non-streamed answer of an OpenAI-compatible server, normalised to what OpenAI's clients expect. */
export function fromOpenAI(body: unknown, req: LlmRequest, ctx: FormatContext): Completion {
  if (!isRecord(body) || !Array.isArray(body.choices)) {
    const err = isRecord(body) ? streamError(body) : undefined;
    throw new UpstreamFormatError(
      err
        ? `OpenAI-compatible upstream answered with an error: ${err.message}`
        : `cannot read the OpenAI-compatible upstream answer: expected choices; got ${describe(body)}`,
    );
  }
  const chat = ctx.routeType === 'llm/v1/chat';
  // A choice still running (`finish_reason: null`) in a whole answer is a cut answer, whatever its text.
  if (body.choices.some((c: unknown) => isRecord(c) && c.finish_reason === null)) {
    throw new IncompleteUpstreamAnswerError('the OpenAI-compatible upstream marked its answer unfinished (finish_reason: null)');
  }
  const common = {
    // One rule on every path, streamed or not: the proxy's own id, and the route's model name (what
    // X-LLM-Model reports) rather than the server's, which can be a file path (llama.cpp).
    id: completionId(ctx.routeType),
    created: createdFrom(body.created),
    model: req.model,
    usage: normaliseUsage(body.usage),
  };
  const choices = body.choices.map((raw: unknown, i: number) => {
    const c = isRecord(raw) ? raw : {};
    const message = isRecord(c.message) ? c.message : undefined;
    const text = message ? message.content : c.text;
    const base = {
      index: typeof c.index === 'number' ? c.index : i,
      logprobs: (c.logprobs ?? null) as null,
      finish_reason: mapFinishReason(c.finish_reason),
    };
    if (chat) {
      const content = typeof text === 'string' ? text : null;
      return { ...c, ...base, message: { ...(message ?? {}), role: 'assistant' as const, content } };
    }
    return { ...c, ...base, text: typeof text === 'string' ? text : '' };
  });
  return chat
    ? ({ ...body, ...common, object: 'chat.completion', choices } as ChatCompletion)
    : ({ ...body, ...common, object: 'text_completion', choices } as TextCompletion);
}

/** One SSE message of an OpenAI-compatible stream: a chunk, an error, or `[DONE]`. */
export function fromOpenAIStreamMessage(message: unknown): StreamEvent[] {
  if (message === '[DONE]') return [{ type: 'done' }];
  if (!isRecord(message)) throw new UpstreamFormatError(`unexpected OpenAI-compatible stream message: ${describe(message)}`);
  const err = streamError(message);
  if (err) return [err];
  if (!Array.isArray(message.choices) && !isRecord(message.usage)) {
    throw new UpstreamFormatError(`unexpected OpenAI-compatible stream chunk: ${describe(message)}`);
  }
  const chunk: Record<string, unknown> = { ...message };
  if (Array.isArray(message.choices)) {
    chunk.choices = message.choices.map((c: unknown) => (isRecord(c) && 'finish_reason' in c ? { ...c, finish_reason: mapChoiceFinish(c.finish_reason) } : c));
  }
  const event: StreamEvent = { type: 'chunk', chunk };
  if (isRecord(message.usage)) event.usage = normaliseUsage(message.usage);
  return [event];
}

/** `llama2_format: openai`: an OpenAI-compatible server (vLLM, llama.cpp `/v1`, Ollama `/v1`, TGI `/v1`). */
export const openaiFormat: Format = {
  toUpstream: (req: LlmRequest) => toOpenAIRequest(req),
  fromUpstream: fromOpenAI,
  streamFraming: 'sse',
  fromStreamMessage: (message: unknown, _req: LlmRequest, _ctx: FormatContext, _state: StreamState) => fromOpenAIStreamMessage(message),
};
