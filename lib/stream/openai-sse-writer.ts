import type { FinishReason, Usage } from '../openai-types';
import type { StreamEvent } from '../formats/format';
import { toLegacyLogprobs } from '../formats/legacy-logprobs';

/** How a streamed answer ended, for statistics. */
export type StreamOutcome = 'complete' | 'error' | 'truncated';

/** What every chunk of one streamed answer shares. */
export interface SseWriterOptions {
  kind: 'chat' | 'completions';
  id: string;
  created: number;
  model: string;
  /** The client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
}

const DONE_FRAME = 'data: [DONE]\n\n';

/**
 * Turns upstream-neutral `StreamEvent`s into OpenAI SSE frames (`data: <json>\n\n`).
 *
 * Chat answers are `chat.completion.chunk`s: the first carries `delta.role: "assistant"`, then
 * `delta.content` pieces, then `delta: {}` with the `finish_reason`. Completions answers are
 * `text_completion` chunks with `text`, the last with `text: ""` and the `finish_reason`. With
 * `includeUsage`, a `choices: []` chunk with the usage comes before `data: [DONE]`, and the other
 * chunks carry `usage: null`, as OpenAI sends them. An error ends the stream with
 * `data: {"error":{…}}` and no `[DONE]`, which openai-python raises as an `APIError`.
 *
 * Each method returns the text to send ('' for nothing). Once a terminal frame is written
 * (`[DONE]` or an error) every later call returns ''.
 */
export class OpenAiSseWriter {
  /** The usage seen in the stream (finish event, or an upstream chunk's `usage`). */
  usage: Usage | undefined;
  /** How the stream ended; undefined while it is running (or if it was abandoned). */
  outcome: StreamOutcome | undefined;
  /** The answer's finish reason, once seen (statistics). */
  finishReason: string | undefined;
  /** Chunks with content written so far: the token count of a stream cut short before its usage (statistics). */
  contentChunks = 0;
  /** True once a frame with content was produced (text, a tool call, a finish): not just a role or an empty delta. */
  content = false;

  private readonly opts: SseWriterOptions;
  private readonly object: 'chat.completion.chunk' | 'text_completion';
  /** Frame text before / after the JSON string of a text piece (built once: one stringify a piece). */
  private readonly textPrefix: string;
  /** `textPrefix` of the answer's first text piece: a chat answer's first chunk also carries the role. */
  private readonly firstTextPrefix: string;
  private readonly textSuffix: string;
  private roleSent = false;
  /** Tool calls streamed so far: the next one's `index`, and whether the finish reason is `tool_calls`. */
  private toolCalls = 0;

  constructor(opts: SseWriterOptions) {
    this.opts = opts;
    const chat = opts.kind === 'chat';
    this.object = chat ? 'chat.completion.chunk' : 'text_completion';
    const head =
      `data: {"id":${JSON.stringify(opts.id)},"object":"${this.object}","created":${JSON.stringify(opts.created)},` +
      `"model":${JSON.stringify(opts.model)},"choices":[{"index":0,`;
    const tail = `"logprobs":null,"finish_reason":null}]${opts.includeUsage ? ',"usage":null' : ''}}\n\n`;
    this.textPrefix = chat ? `${head}"delta":{"content":` : `${head}"text":`;
    this.firstTextPrefix = chat ? `${head}"delta":{"role":"assistant","content":` : this.textPrefix;
    this.textSuffix = chat ? `},${tail}` : `,${tail}`;
  }

  /** True once a terminal frame has been written. */
  get ended(): boolean {
    return this.outcome !== undefined;
  }

  /** The frames for one event. */
  write(event: StreamEvent): string {
    if (this.outcome !== undefined) return '';
    switch (event.type) {
      case 'text':
        return event.logprobs ? this.delta({ content: event.text }, event.logprobs) : this.text(event.text);
      case 'reasoning':
        return this.delta({ reasoning_content: event.text });
      case 'tool_call':
        return this.delta({
          tool_calls: [{ index: this.toolCalls++, id: event.id, type: 'function', function: { name: event.name, arguments: event.arguments } }],
        });
      case 'finish':
        return this.finish(event.finishReason, event.usage);
      case 'error':
        return this.error(event.message, event.errorType ?? 'api_error', event.code ?? null);
      case 'chunk':
        return this.chunk(event.chunk, event.usage);
      case 'done':
        this.outcome = 'complete';
        return DONE_FRAME;
    }
  }

  /**
   * Ends the stream with an error frame (no `[DONE]`).
   * @param outcome `truncated` when the upstream stopped early, else `error`.
   */
  error(message: string, type = 'api_error', code: string | null = null, outcome: StreamOutcome = 'error'): string {
    if (this.outcome !== undefined) return '';
    this.outcome = outcome;
    return frame({ error: { message, type, param: null, code } });
  }

  /** The frame for a piece of text ('' for an empty piece). */
  text(text: string): string {
    return this.textJson(JSON.stringify(text));
  }

  /** The frame for a piece of text given as its JSON string literal (what `JSON.stringify` makes of it). */
  textJson(json: string): string {
    if (this.outcome !== undefined) return '';
    // Empty pieces (Ollama's final line, llama.cpp's last event) carry nothing for the client.
    if (json.length === 2) return '';
    this.markContent();
    if (!this.roleSent) {
      this.roleSent = true;
      return this.firstTextPrefix + json + this.textSuffix;
    }
    return this.textPrefix + json + this.textSuffix;
  }

  /**
   * A chat delta beyond plain text (reasoning, a tool call, text with log-probabilities); the
   * first chunk of the answer also carries the role. Completions answers have only text (with
   * log-probabilities in the legacy shape).
   */
  private delta(delta: Record<string, unknown>, logprobs?: unknown[]): string {
    if (this.opts.kind !== 'chat') {
      if (typeof delta.content !== 'string' || delta.content === '') return '';
      if (!logprobs) return this.text(delta.content);
      this.markContent();
      return this.oneChoice({ index: 0, text: delta.content, logprobs: toLegacyLogprobs(logprobs), finish_reason: null });
    }
    this.markContent();
    const first = !this.roleSent;
    this.roleSent = true;
    return this.chatChunk(first ? { role: 'assistant', ...delta } : delta, null, logprobs);
  }

  /** A delta with text, reasoning or a tool call: content for failover (lib/balancer) and for the token count of a cut stream. */
  private markContent(): void {
    this.contentChunks++;
    this.content = true;
  }

  private finish(upstreamReason: FinishReason, usage: Usage | undefined): string {
    if (usage !== undefined) this.usage = usage;
    // A tool call seen anywhere in the stream, even on a line before the final one, decides the reason.
    const finishReason = this.toolCalls > 0 ? 'tool_calls' : upstreamReason;
    this.finishReason = finishReason;
    let out = '';
    if (this.opts.kind === 'chat') {
      if (!this.roleSent) {
        this.roleSent = true;
        out += this.chatChunk({ role: 'assistant', content: '' }, null);
      }
      out += this.chatChunk({}, finishReason);
    } else {
      out += this.oneChoice({ index: 0, text: '', logprobs: null, finish_reason: finishReason });
    }
    if (this.opts.includeUsage) {
      // Unknown counts (e.g. TGI without `details`) are sent as zeros, as non-streamed answers do.
      out += frame({
        id: this.opts.id,
        object: this.object,
        created: this.opts.created,
        model: this.opts.model,
        choices: [],
        usage: this.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      });
    }
    this.outcome = 'complete';
    return out + DONE_FRAME;
  }

  private chunk(chunk: Record<string, unknown>, usage: Usage | undefined): string {
    const seen = usage ?? asUsage(chunk.usage);
    if (seen !== undefined) this.usage = seen;
    this.countChunk(chunk.choices);
    if (!this.content) this.content = chunkHasContent(chunk);
    // Upstream chunks may have been asked for usage for our statistics only: the client did not
    // ask, so the usage-only chunk is kept from it.
    if (!this.opts.includeUsage) {
      if (seen !== undefined && Array.isArray(chunk.choices) && chunk.choices.length === 0) return '';
      // The `usage: null` OpenAI adds to every chunk once usage was asked for.
      if (chunk.usage === null) delete chunk.usage;
    }
    // The chunk was parsed for this stream alone, so it is normalised in place (keeps key order).
    chunk.id = this.opts.id;
    chunk.object = this.object;
    chunk.created = this.opts.created;
    chunk.model = this.opts.model;
    return frame(chunk);
  }

  private countChunk(choices: unknown): void {
    const choice = Array.isArray(choices) ? (choices[0] as Record<string, unknown> | undefined) : undefined;
    if (typeof choice !== 'object' || choice === null) return;
    const delta = choice.delta as Record<string, unknown> | undefined;
    const content = typeof delta === 'object' && delta !== null ? delta.content : choice.text;
    if (typeof content === 'string' && content.length > 0) this.contentChunks++;
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
  }

  private chatChunk(delta: Record<string, unknown>, finishReason: FinishReason | null, logprobs?: unknown[]): string {
    return this.oneChoice({ index: 0, delta, logprobs: logprobs ? { content: logprobs, refusal: null } : null, finish_reason: finishReason });
  }

  /** One chunk frame with a single choice (and `usage: null` when the client asked for usage). */
  private oneChoice(choice: Record<string, unknown>): string {
    return frame(this.withUsageNull({ id: this.opts.id, object: this.object, created: this.opts.created, model: this.opts.model, choices: [choice] }));
  }

  private withUsageNull(chunk: Record<string, unknown>): Record<string, unknown> {
    if (this.opts.includeUsage) chunk.usage = null;
    return chunk;
  }
}

function frame(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** An OpenAI chunk carrying more than a role or empty deltas (the preamble servers send first). */
function chunkHasContent(chunk: Record<string, unknown>): boolean {
  if (!Array.isArray(chunk.choices)) return false;
  for (const choice of chunk.choices as unknown[]) {
    if (typeof choice !== 'object' || choice === null) continue;
    const c = choice as Record<string, unknown>;
    if (c.finish_reason !== null && c.finish_reason !== undefined) return true;
    if (typeof c.text === 'string' && c.text.length > 0) return true;
    const delta = c.delta;
    if (typeof delta !== 'object' || delta === null) continue;
    for (const [key, v] of Object.entries(delta)) {
      if (key === 'role' || v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
      return true;
    }
  }
  return false;
}

function asUsage(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  if (typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  const total = typeof u.total_tokens === 'number' ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: total };
}
