import { Transform, type TransformCallback } from 'node:stream';
import { log } from '../debug';
import { UpstreamFormatError } from '../errors';
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
 * frames, as the bytes arrive: bytes in, `data: …\n\n` text out, one push per input packet.
 *
 * Chain: line splitter → framing parser (`format.streamFraming`) → `JSON.parse` (the SSE `[DONE]`
 * sentinel is passed on as the string `'[DONE]'`) → `format.fromStreamMessage` → OpenAI SSE writer.
 *
 * Failures never surface as stream errors, because the response has already begun: an unreadable
 * message or an upstream error becomes a final `data: {"error":…}` frame, and so does an upstream
 * that ends before its final event (a truncation, never `[DONE]`). After a terminal frame the rest
 * of the input is read and ignored, so `stream.pipeline` sees a normal end.
 *
 * @example
 * res.writeHead(200, { 'content-type': 'text/event-stream' });
 * const converter = new StreamConverter(format, req, ctx, { id, created, model });
 * pipeline(proxyRes, converter, res, (err) => report(converter.outcome, converter.usage));
 */
export class StreamConverter extends Transform {
  private readonly format: Format;
  private readonly req: LlmRequest;
  private readonly ctx: FormatContext;
  private readonly state: StreamState = {};
  private readonly splitter = new LineSplitter();
  private readonly sse: SseParser | undefined;
  private readonly ndjson: NdjsonParser | undefined;
  private readonly writer: OpenAiSseWriter;
  /** Frames produced for the current input packet, pushed together. */
  private out = '';
  private bytesIn = 0;
  private messages = 0;

  constructor(format: Format, req: LlmRequest, ctx: FormatContext, meta: StreamMeta) {
    super({ decodeStrings: true });
    this.format = format;
    this.req = req;
    this.ctx = ctx;
    if (format.streamFraming === 'sse') this.sse = new SseParser();
    else this.ndjson = new NdjsonParser();
    this.writer = new OpenAiSseWriter({
      kind: req.kind,
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

  /** How the stream ended; undefined while running, or when it was destroyed before its end. */
  get outcome(): StreamOutcome | undefined {
    return this.writer.outcome;
  }

  /**
   * Ends the answer with an error frame because the upstream itself failed mid-stream (connection
   * lost, timed out). Call it after unpiping the upstream; a no-op once the answer has ended.
   */
  failUpstream(message: string): void {
    if (this.writableEnded) return;
    if (!this.writer.ended) {
      this.out += this.writer.error(clip(message), 'api_error', 'upstream_failed');
      this.flushOut();
    }
    this.end();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.writer.ended) {
      callback();
      return;
    }
    this.bytesIn += chunk.length;
    try {
      this.lines(this.splitter.feed(chunk));
    } catch (err) {
      this.fail(err);
    }
    this.flushOut();
    callback();
  }

  override _flush(callback: TransformCallback): void {
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
      this.out += this.writer.error(
        'upstream stream ended before the final event (truncated)',
        'api_error',
        null,
        'truncated',
      );
    }
    debug('stream end: outcome=%s bytes=%d messages=%d', this.writer.outcome, this.bytesIn, this.messages);
    this.flushOut();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Client gone or upstream socket failed: `pipeline` reports it; only the fact is logged here.
    if (this.writer.outcome === undefined) {
      debug('stream destroyed before its end after %d bytes, %d messages (%s)', this.bytesIn, this.messages, err ? err.message : 'no error');
    }
    callback(err);
  }

  /** Pushes the frames produced by one input packet as one piece. */
  private flushOut(): void {
    if (this.out.length === 0) return;
    const out = this.out;
    this.out = '';
    this.push(out);
  }

  /** Converts a batch of complete lines; stops at the first terminal event. */
  private lines(lines: string[]): void {
    for (let i = 0; i < lines.length && !this.writer.ended; i++) {
      const line = lines[i] as string;
      if (this.sse) {
        const message = this.sse.push(line);
        if (message) this.sseMessage(message);
      } else if (this.ndjson!.push(line) !== undefined) {
        this.message(parseJson(line));
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
      debug('stream conversion failed: %s', err instanceof Error ? err.message : String(err));
      message = 'internal error while converting the upstream stream';
    }
    debug('stream aborted with an error frame after %d bytes, %d messages', this.bytesIn, this.messages);
    this.out += this.writer.error(clip(message), 'api_error');
  }
}

/**
 * Creates a `StreamConverter` (see there): `pipeline(upstream, createStreamConverter(...), res, cb)`.
 */
export function createStreamConverter(
  format: Format,
  req: LlmRequest,
  ctx: FormatContext,
  meta: StreamMeta,
): StreamConverter {
  return new StreamConverter(format, req, ctx, meta);
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
