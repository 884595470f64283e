import { UpstreamFormatError } from '../errors';
import { MAX_SSE_EVENT_LINES, MAX_SSE_EVENT_SIZE } from './limits';

/** One dispatched server-sent event. */
export interface SseMessage {
  /** The event's data lines joined with `\n`. */
  data: string;
  /** The `event:` field, when the event had one (e.g. `error`). */
  event?: string;
}

/**
 * Turns text lines into server-sent events, following the WHATWG event-stream rules that matter
 * for LLM servers:
 * - `data:` with or without one space after the colon (TGI writes none);
 * - several data lines of one event joined with `\n`;
 * - a blank line dispatches the event; a blank line with nothing pending is ignored;
 * - lines starting with `:` are comments (TGI's keep-alives) and are ignored;
 * - `event:` is kept on the message; `id:`, `retry:` and unknown fields are ignored.
 *
 * An event is held only until its blank line: past `maxSize` characters of data or `maxLines`
 * data lines, `push` throws `UpstreamFormatError` (an upstream that never ends its events cannot
 * grow memory).
 */
export class SseParser {
  private data: string | undefined;
  private event: string | undefined;
  private lines = 0;
  private readonly maxSize: number;
  private readonly maxLines: number;

  constructor(maxSize: number = MAX_SSE_EVENT_SIZE, maxLines: number = MAX_SSE_EVENT_LINES) {
    this.maxSize = maxSize;
    this.maxLines = maxLines;
  }

  /** Takes one line (without its line end); returns the event it completes, if any. */
  push(line: string): SseMessage | undefined {
    if (line.length === 0) return this.dispatch();
    if (line.charCodeAt(0) === 58 /* : */) return undefined;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 /* space */ ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    if (field === 'data') {
      if (this.data === undefined) {
        this.data = value;
        this.lines = 1;
      } else {
        if (++this.lines > this.maxLines || this.data.length + 1 + value.length > this.maxSize) this.tooLarge();
        this.data = this.data + '\n' + value;
      }
      if (this.data.length > this.maxSize) this.tooLarge();
    } else if (field === 'event') {
      this.event = value;
    }
    return undefined;
  }

  /**
   * Ends the input. An event whose final blank line never came is dispatched all the same: a
   * server that omits it still meant the event (strict parsers drop it; being lenient loses nothing,
   * since a cut-off JSON payload fails to parse anyway).
   */
  end(): SseMessage | undefined {
    return this.dispatch();
  }

  private tooLarge(): never {
    this.data = undefined;
    this.event = undefined;
    throw new UpstreamFormatError(
      `upstream SSE event larger than ${this.maxSize} characters or ${this.maxLines} data lines without the blank line that ends it`,
    );
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = undefined;
    this.event = undefined;
    if (data === undefined) return undefined;
    return event === undefined ? { data } : { data, event };
  }
}
