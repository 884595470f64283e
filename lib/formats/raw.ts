import { contractKind } from '../contract/request-fields';
import type { IncomingHttpHeaders } from 'node:http';
import { IncompleteUpstreamAnswerError, UpstreamFormatError } from '../errors';
import type { Completion, FinishReason } from '../openai-types';
import { llamaCppExtras, tgiExtras } from '../contract/raw-values';
import type { RawDialect } from '../types';
import { buildCompletion, makeUsage } from './completion';
import { finishEvent, mapFinishReason } from './finish-reason';
import type { Format, FormatContext, LlmRequest, StreamEvent, StreamState } from './format';
import { requestedLogprobs } from '../contract/request-values';
import { llamaCppLogprobs, tgiLogprobs } from './raw-logprobs';
import { buildLlama2Prompt } from './llama2-prompt';
import { definedOnly, describe, errorMessageOf, isRecord, streamError } from './util';

/** The server a `raw` upstream is, once `auto` is resolved. */
export type RawServerDialect = 'tgi' | 'llamacpp';

function pathOnly(upstreamPath: string): { path: string; query: string } {
  const q = upstreamPath.indexOf('?');
  return q === -1 ? { path: upstreamPath, query: '' } : { path: upstreamPath.slice(0, q), query: upstreamPath.slice(q) };
}

/**
 * Resolves `raw_dialect`: `auto` picks llama.cpp for a path ending in `/completion` or
 * `/completions`, TGI / HuggingFace for anything else.
 */
export function rawDialectFor(upstreamPath: string, option: RawDialect): RawServerDialect {
  if (option === 'tgi' || option === 'llamacpp') return option;
  const path = pathOnly(upstreamPath).path.replace(/\/+$/, '');
  return /\/completions?$/.test(path) ? 'llamacpp' : 'tgi';
}

/**
 * The upstream path for a streamed request: TGI's `/generate` cannot stream, so a path ending in
 * `/generate` becomes `/generate_stream` (query kept). Anything else is returned unchanged.
 */
export function rawStreamPath(upstreamPath: string, dialect: RawServerDialect): string {
  if (dialect !== 'tgi') return upstreamPath;
  const { path, query } = pathOnly(upstreamPath);
  return path.endsWith('/generate') ? `${path}_stream${query}` : upstreamPath;
}

/** TGI's body. Values TGI refuses (top_p ∉ (0,1), temperature ≤ 0, top_k ≤ 0) are left out. */
export function toTgiRequest(req: LlmRequest, inputs: string): Record<string, unknown> {
  const { temperature, top_p, top_k } = req;
  const parameters = definedOnly({
    max_new_tokens: req.max_tokens,
    // Temperature 0 means greedy decoding, which TGI spells do_sample: false.
    temperature: temperature !== undefined && temperature > 0 ? temperature : undefined,
    do_sample: temperature === 0 ? false : undefined,
    top_p: top_p !== undefined && top_p > 0 && top_p < 1 ? top_p : undefined,
    top_k: top_k !== undefined && top_k > 0 ? top_k : undefined,
    stop: req.stop,
    // Without details TGI reports neither a finish reason nor token counts.
    details: true,
    return_full_text: false,
  });
  Object.assign(parameters, tgiExtras(req.body, contractKind(req.kind), req.extras));
  // `stream` is top-level: only the HF-compatible `/` route reads it, the others ignore it.
  return { inputs, parameters, stream: req.stream };
}

/** llama.cpp `/completion`'s body; it accepts every value as is. */
export function toLlamaCppRequest(req: LlmRequest, prompt: string): Record<string, unknown> {
  return {
    ...definedOnly({
      prompt,
      n_predict: req.max_tokens,
      temperature: req.temperature,
      top_p: req.top_p,
      top_k: req.top_k,
      stop: req.stop,
      stream: req.stream,
    }),
    ...llamaCppExtras(req.body, contractKind(req.kind), req.extras),
  };
}

interface RawAnswer {
  text: string;
  finishReason: FinishReason;
  promptTokens?: unknown;
  completionTokens?: unknown;
}

/** A `{generated_text}`-like item, or a bare string, as found in `responses`, `data` or an array. */
function fromItem(item: unknown): RawAnswer | undefined {
  if (typeof item === 'string') return { text: item, finishReason: 'stop' };
  if (Array.isArray(item)) return item.length > 0 ? fromItem(item[0]) : undefined;
  if (!isRecord(item)) return undefined;
  if (typeof item.generated_text === 'string') {
    const details = isRecord(item.details) ? item.details : {};
    return {
      text: item.generated_text,
      finishReason: mapFinishReason(details.finish_reason),
      promptTokens: details.input_length,
      completionTokens: details.generated_tokens,
    };
  }
  if (typeof item.content === 'string') {
    if (item.stop === false) throw new IncompleteUpstreamAnswerError('llama.cpp marked its answer unfinished (stop: false)');
    return {
      text: item.content,
      finishReason: mapFinishReason(item.stop_type),
      promptTokens: item.tokens_evaluated,
      completionTokens: item.tokens_predicted,
    };
  }
  if (typeof item.text === 'string') {
    if (item.finish_reason === null) throw new IncompleteUpstreamAnswerError('the upstream marked its answer unfinished (finish_reason: null)');
    return { text: item.text, finishReason: mapFinishReason(item.finish_reason) };
  }
  return undefined;
}

/**
 * Reads every answer shape a `raw` server gives: `{responses}` (Kong's docs), `[{generated_text}]`
 * (HF), `{generated_text, details}` (TGI), `{data:[{generated_text}]}` (Kong's fixture) and
 * `{content, stop_type, …}` (llama.cpp).
 */
function readRawAnswer(body: unknown): RawAnswer {
  let answer: RawAnswer | undefined;
  if (Array.isArray(body)) answer = fromItem(body);
  else if (isRecord(body)) {
    if (body.responses !== undefined) answer = fromItem(body.responses);
    else if (body.data !== undefined) answer = fromItem(body.data);
    else answer = fromItem(body);
  }
  if (answer) return answer;
  const upstreamError = errorMessageOf(body);
  throw new UpstreamFormatError(
    upstreamError !== undefined
      ? `llama2 raw upstream answered with an error: ${upstreamError}`
      : `cannot read the llama2 raw upstream answer: expected generated_text (TGI/HuggingFace), content (llama.cpp), responses or data; got ${describe(body)}`,
  );
}

/** Removes a prompt the server echoed (HF `return_full_text`), by its exact prefix only. */
export function stripEchoedPrompt(text: string, prompt: string): string {
  for (const prefix of [prompt, `<s>${prompt}`, `<s> ${prompt}`]) {
    if (prompt !== '' && text.startsWith(prefix)) return text.slice(prefix.length).trimStart();
  }
  return text.trimStart();
}

/** Emits text with the whitespace at the very start of the answer trimmed, as the non-streamed answer is. */
function textEvent(text: string, state: StreamState): StreamEvent[] {
  const out = state.rawStarted === true ? text : text.trimStart();
  if (out === '') return [];
  state.rawStarted = true;
  return [{ type: 'text', text: out }];
}

function fromTgiStream(message: Record<string, unknown>, state: StreamState, req: LlmRequest): StreamEvent[] {
  const token = isRecord(message.token) ? message.token : undefined;
  if (!token && !('generated_text' in message)) {
    throw new UpstreamFormatError(`unexpected TGI stream event: ${describe(message)}`);
  }
  const events: StreamEvent[] = [];
  if (token && token.special !== true && typeof token.text === 'string') events.push(...textEvent(token.text, state));
  const top = token && req.extras ? requestedLogprobs(req.body, contractKind(req.kind)) : undefined;
  const logprobs = top !== undefined ? tgiLogprobs([token], [message.top_tokens], top) : undefined;
  if (logprobs && events[0]?.type === 'text') events[0] = { ...events[0], logprobs };
  if (message.generated_text !== null && message.generated_text !== undefined) {
    const details = isRecord(message.details) ? message.details : {};
    events.push(finishEvent(details.finish_reason, details.input_length, details.generated_tokens));
  }
  return events;
}

function fromLlamaCppStream(message: Record<string, unknown>, state: StreamState, req: LlmRequest): StreamEvent[] {
  if (typeof message.content !== 'string' && typeof message.stop !== 'boolean') {
    throw new UpstreamFormatError(`unexpected llama.cpp stream event: ${describe(message)}`);
  }
  const events = typeof message.content === 'string' ? textEvent(message.content, state) : [];
  const top = req.extras ? requestedLogprobs(req.body, contractKind(req.kind)) : undefined;
  const logprobs = top !== undefined ? llamaCppLogprobs(message.completion_probabilities, top) : undefined;
  if (logprobs && events[0]?.type === 'text') events[0] = { ...events[0], logprobs };
  if (message.stop === true) events.push(finishEvent(message.stop_type, message.tokens_evaluated, message.tokens_predicted));
  return events;
}

function headerCount(headers: IncomingHttpHeaders | undefined, name: string): number | undefined {
  const value = headers?.[name];
  const n = typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Answers asked for `logprobs`: llama.cpp's `completion_probabilities` or TGI's `details.tokens`, as OpenAI's. */
function logprobsOf(body: unknown, req: LlmRequest, ctx: FormatContext): unknown[] | undefined {
  const top = req.extras ? requestedLogprobs(req.body, contractKind(req.kind)) : undefined;
  if (top === undefined) return undefined;
  if (ctx.rawDialect === 'llamacpp') return isRecord(body) ? llamaCppLogprobs(body.completion_probabilities, top) : undefined;
  const item: unknown = Array.isArray(body) ? body[0] : body;
  const details = isRecord(item) && isRecord(item.details) ? item.details : undefined;
  return details && Array.isArray(details.tokens)
    ? tgiLogprobs(details.tokens, Array.isArray(details.top_tokens) ? details.top_tokens : undefined, top)
    : undefined;
}

// The prompt sent for a request, so an echo can be stripped without rendering the template again.
const sentPrompts = new WeakMap<LlmRequest, string>();

/** `llama2_format: raw`: a Llama 2 prompt to TGI / HuggingFace or llama.cpp `/completion`. */
export const rawFormat: Format = {
  toUpstream(req: LlmRequest, ctx: FormatContext): Record<string, unknown> {
    const prompt = buildLlama2Prompt(req);
    sentPrompts.set(req, prompt);
    return ctx.rawDialect === 'llamacpp' ? toLlamaCppRequest(req, prompt) : toTgiRequest(req, prompt);
  },

  fromUpstream(body: unknown, req: LlmRequest, ctx: FormatContext, headers?: IncomingHttpHeaders): Completion {
    const answer = readRawAnswer(body);
    return buildCompletion(ctx.routeType, {
      text: stripEchoedPrompt(answer.text, sentPrompts.get(req) ?? buildLlama2Prompt(req)),
      finishReason: answer.finishReason,
      // TGI's non-streamed body has no prompt count; its x-prompt-tokens header does.
      usage: makeUsage(answer.promptTokens ?? headerCount(headers, 'x-prompt-tokens'), answer.completionTokens ?? headerCount(headers, 'x-generated-tokens')),
      // The route's model name, as in the stream and X-LLM-Model; llama.cpp's own is a file path.
      model: req.model,
      logprobs: logprobsOf(body, req, ctx),
    });
  },

  streamFraming: 'sse',

  fromStreamMessage(message: unknown, req: LlmRequest, ctx: FormatContext, state: StreamState): StreamEvent[] {
    if (!isRecord(message)) throw new UpstreamFormatError(`unexpected llama2 raw stream message: ${describe(message)}`);
    const err = streamError(message);
    if (err) return [err];
    return ctx.rawDialect === 'llamacpp' ? fromLlamaCppStream(message, state, req) : fromTgiStream(message, state, req);
  },
};
