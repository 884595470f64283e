import { StringDecoder } from 'node:string_decoder';
import { UpstreamFormatError } from '../errors';
import { MAX_STREAM_LINE_LENGTH } from './limits';

/** Longest unfinished line kept by default: 8 MiB of text. Real stream lines are far below. */
export const DEFAULT_MAX_LINE_LENGTH = MAX_STREAM_LINE_LENGTH;

/**
 * Splits a byte stream into text lines as the bytes arrive.
 *
 * Lines end with `\n` or `\r\n` (a `\r\n` pair cut between two packets included). A lone `\r` is
 * not a line end: no upstream we speak to uses it, and honouring it would force us to hold back
 * every packet that ends in `\r`. UTF-8 characters cut between packets are reassembled by a
 * `StringDecoder`. Only the unfinished last line is carried over, and each packet's text is
 * scanned once, so the cost is linear in the input whatever the packet sizes.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLineLength: number;
  /** The unfinished line carried over from earlier packets (never contains `\n`). */
  private rest = '';
  private started = false;

  /** @param maxLineLength Longest line accepted, in UTF-16 code units. Defaults to 8 MiB. */
  constructor(maxLineLength: number = DEFAULT_MAX_LINE_LENGTH) {
    this.maxLineLength = maxLineLength;
  }

  /**
   * Takes the next packet and returns the lines it completes, without their line ends.
   * @throws UpstreamFormatError when a line grows beyond the maximum length.
   */
  feed(chunk: Buffer): string[] {
    let text = this.decoder.write(chunk);
    if (!this.started && text.length > 0) {
      this.started = true;
      // A UTF-8 byte order mark would break JSON.parse of the first line; the SSE spec drops it too.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const lines: string[] = [];
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.rest += text;
      this.checkLength(this.rest.length);
      return lines;
    }
    lines.push(this.finishLine(this.rest + text.slice(0, nl)));
    this.rest = '';
    let start = nl + 1;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      lines.push(this.finishLine(text.slice(start, nl)));
      start = nl + 1;
    }
    this.rest = text.slice(start);
    this.checkLength(this.rest.length);
    return lines;
  }

  /** Ends the input: returns the last line when the input did not end with a line end. */
  end(): string[] {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail.length === 0) return [];
    return [this.finishLine(tail)];
  }

  private finishLine(line: string): string {
    this.checkLength(line.length);
    return line.charCodeAt(line.length - 1) === 13 /* \r */ ? line.slice(0, -1) : line;
  }

  private checkLength(length: number): void {
    if (length > this.maxLineLength) {
      throw new UpstreamFormatError(`upstream stream has a line longer than ${this.maxLineLength} characters; is it really ndjson/SSE?`);
    }
  }
}
