import { describeError, log } from '../debug';
import { IncompleteUpstreamAnswerError, UpstreamFormatError } from '../errors';
import type { Format, FormatContext, LlmRequest, StreamEvent, StreamState } from '../formats/format';
import type { Usage } from '../openai-types';
import { LineSplitter } from './line-splitter';
import { NdjsonParser } from './ndjson-parser';
import { OpenAiSseWriter, type StreamOutcome } from './openai-sse-writer';
import { SseParser, type SseMessage } from './sse-parser';

const debug = log.extend('stream');

/** What every chunk of the converted answer shares; `model` is the name the client sees. */
export interface StreamMeta {
  id: string;
  created: number;
  model: string;
}

/** Error messages longer than this (an upstream's own text, an exception's) are cut. */
const MAX_ERROR_MESSAGE = 500;

/**
 * Converts an upstream LLM stream (Ollama NDJSON, TGI / llama.cpp SSE, OpenAI SSE) into OpenAI SSE
 * text, synchronously: `feed(bytes)` returns the frames those bytes complete ('' for none).
 *
 * Chain: line splitter → framing parser (`format.streamFraming`) → `JSON.parse` (the SSE `[DONE]`
 * sentinel is passed on as the string `'[DONE]'`) → `format.fromStreamMessage` → OpenAI SSE writer.
 *
 * Failures never throw, because the response has already begun: an unreadable message or an
 * upstream error becomes a final `data: {"error":…}` frame, and so does an upstream that ends before
 * its final event (a truncation, never `[DONE]`). Once `ended`, further input is ignored.
 * No I/O here: the relay (or `StreamConverter`, its stream form) moves the bytes.
 */
export class StreamTranslator {
  private readonly format: Format;
  private readonly req: LlmRequest;
  private readonly ctx: FormatContext;
  private readonly state: StreamState = {};
  private readonly splitter = new LineSplitter();
  private readonly sse: SseParser | undefined;
  private readonly ndjson: NdjsonParser | undefined;
  private readonly writer: OpenAiSseWriter;
  /** Frames produced by the current call. */
  private out = '';
  private bytesIn = 0;
  private messages = 0;

  constructor(format: Format, req: LlmRequest, ctx: FormatContext, meta: StreamMeta) {
    this.format = format;
    this.req = req;
    this.ctx = ctx;
    if (format.streamFraming === 'sse') this.sse = new SseParser();
    else this.ndjson = new NdjsonParser();
    this.writer = new OpenAiSseWriter({
      kind: req.kind === 'chat' ? 'chat' : 'completions',
      id: meta.id,
      created: meta.created,
      model: meta.model,
      includeUsage: req.includeUsage,
    });
  }

  /** Token counts the upstream reported, once seen. */
  get usage(): Usage | undefined {
    return this.writer.usage;
  }

  /** How the stream ended; undefined while running. */
  get outcome(): StreamOutcome | undefined {
    return this.writer.outcome;
  }

  /** The answer's finish reason, once seen. */
  get finishReason(): string | undefined {
    return this.writer.finishReason;
  }

  /** Chunks with content produced so far. */
  get contentChunks(): number {
    return this.writer.contentChunks;
  }

  /** True once content (not just a role-only preamble) has been produced. */
  get hasContent(): boolean {
    return this.writer.content;
  }

  /** True once a terminal frame (`[DONE]` or an error) has been produced. */
  get ended(): boolean {
    return this.writer.ended;
  }

  /** The frames completed by these upstream bytes. */
  feed(chunk: Buffer): string {
    if (this.writer.ended) return '';
    this.bytesIn += chunk.length;
    try {
      this.lines(this.splitter.feed(chunk));
    } catch (err) {
      this.fail(err);
    }
    return this.take();
  }

  /** The upstream ended: the last frames, with a truncation error if its final event never came. */
  end(): string {
    if (!this.writer.ended) {
      try {
        this.lines(this.splitter.end());
        if (!this.writer.ended && this.sse) {
          const last = this.sse.end();
          if (last) this.sseMessage(last);
        }
      } catch (err) {
        // A last message cut off by the end of input is a truncation, reported as such below.
        if (!(err instanceof StreamJsonError)) this.fail(err);
      }
      this.out += this.writer.error('upstream stream ended before the final event (truncated)', 'api_error', IncompleteUpstreamAnswerError.code, 'truncated');
    }
    debug('stream end: outcome=%s bytes=%d messages=%d', this.writer.outcome, this.bytesIn, this.messages);
    return this.take();
  }

  /**
   * The upstream itself failed mid-stream (connection lost, timed out): the error frame to end
   * with, or '' when the answer had already ended.
   */
  failUpstream(message: string, code = 'upstream_failed'): string {
    if (this.writer.ended) return '';
    debug('upstream failed mid-stream after %d bytes, %d messages', this.bytesIn, this.messages);
    return this.writer.error(clip(message), 'api_error', code);
  }

  private take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  /** Converts a batch of complete lines; stops at the first terminal event. */
  private lines(lines: string[]): void {
    for (let i = 0; i < lines.length && !this.writer.ended; i++) {
      const line = lines[i] as string;
      if (this.sse) {
        const message = this.sse.push(line);
        if (message) this.sseMessage(message);
      } else if (this.ndjson!.push(line) !== undefined) {
        const json = this.format.fastStreamJson?.(line, this.req);
        if (json !== undefined) {
          this.messages++;
          this.out += this.writer.textJson(json);
        } else {
          this.message(parseJson(line));
        }
      }
    }
  }

  private sseMessage(message: SseMessage): void {
    const data = message.data;
    // `data:` with nothing after it carries no message; some servers use it as a keep-alive.
    if (data.trim().length === 0) return;
    this.message(data === '[DONE]' ? '[DONE]' : parseJson(data));
    if (message.event === 'error') {
      // An `event: error` whose data the format did not read as an error still is one.
      this.out += this.writer.error('upstream sent an SSE error event', 'api_error');
    }
  }

  private message(value: unknown): void {
    this.messages++;
    const events: StreamEvent[] = this.format.fromStreamMessage(value, this.req, this.ctx, this.state);
    for (let i = 0; i < events.length && !this.writer.ended; i++) {
      this.out += this.writer.write(events[i] as StreamEvent);
    }
  }

  /** The error frame for a failure while converting; ends the conversion. */
  private fail(err: unknown): void {
    let message: string;
    if (err instanceof UpstreamFormatError || err instanceof StreamJsonError) {
      message = err.message;
    } else {
      debug('stream conversion failed: %s', describeError(err));
      message = 'internal error while converting the upstream stream';
    }
    debug('stream aborted with an error frame after %d bytes, %d messages', this.bytesIn, this.messages);
    this.out += this.writer.error(clip(message), 'api_error');
  }
}

/** A stream message that is not JSON; its message never quotes the payload. */
class StreamJsonError extends Error {}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StreamJsonError(`upstream sent a stream message that is not valid JSON (${text.length} characters)`);
  }
}

function clip(message: string): string {
  return message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message;
}
