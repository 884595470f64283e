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
 */
export class SseParser {
  private data: string | undefined;
  private event: string | undefined;

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
      this.data = this.data === undefined ? value : this.data + '\n' + value;
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

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = undefined;
    this.event = undefined;
    if (data === undefined) return undefined;
    return event === undefined ? { data } : { data, event };
  }
}
