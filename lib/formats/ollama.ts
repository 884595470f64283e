import { IncompleteUpstreamAnswerError, UpstreamFormatError } from '../errors';
import type { Completion } from '../openai-types';
import { buildCompletion, createdFrom, makeUsage } from './completion';
import { ollamaFastText } from './ollama-fast-line';
import { finishEvent, mapFinishReason } from './finish-reason';
import type { Format, FormatContext, LlmRequest, StreamEvent, StreamState } from './format';
import { definedOnly, describe, isRecord, streamError } from './util';

/** Ollama `options`: only the values that were given. */
function ollamaOptions(req: LlmRequest): Record<string, unknown> {
  return definedOnly({
    num_predict: req.max_tokens,
    temperature: req.temperature,
    top_p: req.top_p,
    top_k: req.top_k,
    stop: req.stop,
  });
}

/** The `/api/chat` body. `stream` is always sent: Ollama streams when it is absent. */
export function toOllamaChat(req: LlmRequest): Record<string, unknown> {
  return {
    model: req.model,
    messages: (req.messages ?? []).map((m) => ({ role: m.role, content: m.content })),
    stream: req.stream,
    options: ollamaOptions(req),
  };
}

/**
 * The `/api/generate` body. A prompt already written in the Llama 2 template (`[INST]`) is sent with
 * `raw: true`, so that Ollama does not wrap it in the model's template a second time.
 */
export function toOllamaGenerate(req: LlmRequest): Record<string, unknown> {
  const prompt = req.prompt ?? '';
  const body: Record<string, unknown> = { model: req.model, prompt, stream: req.stream, options: ollamaOptions(req) };
  if (prompt.includes('[INST]')) body.raw = true;
  return body;
}

/** The generated text of an Ollama answer or stream line: `message.content` (chat) or `response`. */
function ollamaText(body: Record<string, unknown>): string | undefined {
  if (isRecord(body.message) && typeof body.message.content === 'string') return body.message.content;
  if (typeof body.response === 'string') return body.response;
  return undefined;
}

/** A non-streamed `/api/chat` or `/api/generate` answer as OpenAI JSON. */
export function fromOllama(body: unknown, req: LlmRequest, ctx: FormatContext): Completion {
  const text = isRecord(body) ? ollamaText(body) : undefined;
  if (!isRecord(body) || text === undefined) {
    const err = isRecord(body) ? streamError(body) : undefined;
    throw new UpstreamFormatError(
      err
        ? `Ollama answered with an error: ${err.message}`
        : `cannot read the Ollama answer: expected message.content or response; got ${describe(body)}`,
    );
  }
  if (body.done === false) throw new IncompleteUpstreamAnswerError('Ollama marked its answer unfinished (done: false)');
  return buildCompletion(ctx.routeType, {
    text,
    finishReason: mapFinishReason(body.done_reason),
    // Ollama omits zero counts, which makeUsage reads as 0.
    usage: makeUsage(body.prompt_eval_count, body.eval_count),
    model: typeof body.model === 'string' && body.model !== '' ? body.model : req.model,
    created: createdFrom(body.created_at),
  });
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
  const events: StreamEvent[] = text ? [{ type: 'text', text }] : [];
  if (message.done === true) events.push(finishEvent(message.done_reason, message.prompt_eval_count, message.eval_count));
  return events;
}

/** `llama2_format: ollama`: Ollama's native `/api/chat` and `/api/generate`. */
export const ollamaFormat: Format = {
  toUpstream: (req: LlmRequest) => (req.kind === 'chat' ? toOllamaChat(req) : toOllamaGenerate(req)),
  fromUpstream: fromOllama,
  streamFraming: 'ndjson',
  fastStreamText: (line: string, req: LlmRequest) => ollamaFastText(line, req.kind === 'chat'),
  fromStreamMessage: (message: unknown, _req: LlmRequest, _ctx: FormatContext, _state: StreamState) =>
    fromOllamaStreamLine(message),
};
