import type { IncomingHttpHeaders } from 'node:http';
import type { Completion, FinishReason, Usage } from '../openai-types';
import type { EmbeddingRequest } from '../embeddings/types';
import type { Llama2Format, RouteType } from '../types';

export interface ChatMessage {
  role: string;
  /** The text (text parts joined with a newline). */
  content: string;
  /** ollama: the base64 payloads of the `data:` URLs of `image_url` parts, in order; absent when there are none. */
  images?: string[];
  /** An assistant turn's tool calls (`arguments` as OpenAI's JSON string); absent when there are none. */
  toolCalls?: ToolCallRequest[];
  /** A `tool` message's `tool_call_id`. */
  toolCallId?: string;
}

/** One tool call of an assistant turn in the history. */
export interface ToolCallRequest {
  id?: string;
  name: string;
  /** JSON text, as OpenAI sends it. */
  arguments: string;
}

/**
 * A client request after validation, with the config's model and tuning options already applied
 * (config wins over request; `undefined` means "not given").
 */
export interface LlmRequest {
  kind: 'chat' | 'completions' | 'embeddings';
  /** The model name to send upstream. */
  model: string;
  /** Present when kind is 'chat'. */
  messages?: ChatMessage[];
  /** Present when kind is 'completions'. */
  prompt?: string;
  stream: boolean;
  /** `stream_options.include_usage` of the request. */
  includeUsage: boolean;
  /**
   * Ask the upstream for usage even if the client did not (statistics are on). Formats whose
   * upstream reports usage only on request (openai) ask; the writer keeps it from the client.
   */
  usageForStatistics?: boolean;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** Normalised to an array; undefined when the request had none. */
  stop?: string[];
  /** The client's body as parsed, for formats that pass fields through (openai). */
  body: Record<string, unknown>;
  /** Present when kind is 'embeddings'. */
  embedding?: EmbeddingRequest;
  /**
   * The body has fields beyond the plain ones (model, messages/prompt, stream, the tuning options,
   * stop): tools, seed, response_format, logprobs, … The formats map those only when this is set.
   */
  extras?: boolean;
  /** ollama: top-level settings and `options` from `model.options.ollama` and the request's allow-listed fields (config wins). */
  ollama?: { top: Record<string, unknown>; options: Record<string, unknown> };
}

/** What a format needs to know about the route besides the request. */
export interface FormatContext {
  routeType: RouteType;
  format: Llama2Format;
  /** For `raw`: which server dialect to speak. */
  rawDialect: 'tgi' | 'llamacpp';
}

/** One thing that happened in an upstream stream, in upstream-neutral terms. */
export type StreamEvent =
  /** A piece of generated text (with its tokens' log-probabilities, OpenAI's shape, when asked for). */
  | { type: 'text'; text: string; logprobs?: unknown[] }
  /** A piece of a reasoning model's thinking (`reasoning_content`). */
  | { type: 'reasoning'; text: string }
  /** One complete tool call; the answer's finish reason becomes `tool_calls`. */
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  /** The answer is complete (terminal). */
  | { type: 'finish'; finishReason: FinishReason; usage?: Usage }
  /** The upstream reported an error inside the stream (terminal). */
  | { type: 'error'; message: string; errorType?: string; code?: string | null }
  /** openai format: an OpenAI chunk to pass on (id/created/model/object are normalised by the writer). */
  | { type: 'chunk'; chunk: Record<string, unknown>; usage?: Usage }
  /** openai format: `data: [DONE]` (terminal). */
  | { type: 'done' };

/** Per-stream state a stream mapper may keep between events. */
export interface StreamState {
  /** Text generated so far is not kept; only what mappers need (e.g. prompt length for echo). */
  [key: string]: unknown;
}

/**
 * The three `llama2_format`s implement this. Every function is pure: no I/O, no clock except
 * `created` stamps, and they throw `UpstreamFormatError` when an upstream answer cannot be read.
 */
export interface Format {
  /** The body to send upstream (an object; the caller serialises it once). */
  toUpstream(req: LlmRequest, ctx: FormatContext): Record<string, unknown>;
  /**
   * A non-streamed upstream answer (already JSON-parsed) as OpenAI JSON. `headers` are the
   * upstream's response headers (TGI reports the prompt token count only in `x-prompt-tokens`).
   */
  fromUpstream(body: unknown, req: LlmRequest, ctx: FormatContext, headers?: IncomingHttpHeaders): Completion;
  /** How the upstream frames its stream. */
  streamFraming: 'ndjson' | 'sse';
  /**
   * One parsed stream message: a JSON value (NDJSON line or SSE `data`), or the string
   * `[DONE]` for the SSE sentinel. Returns the events it carries, in order (may be empty).
   */
  fromStreamMessage(message: unknown, req: LlmRequest, ctx: FormatContext, state: StreamState): StreamEvent[];
  /**
   * Optional fast path for the commonest stream line: the text it carries, as the JSON string
   * literal `JSON.stringify` would make of it, when the raw line is an ordinary content line of
   * exactly the expected shape, else undefined (the line is then parsed and passed to
   * `fromStreamMessage`). Must never accept a line it would read differently.
   */
  fastStreamJson?(line: string, req: LlmRequest): string | undefined;
}
