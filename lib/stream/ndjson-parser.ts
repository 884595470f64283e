const NON_WHITESPACE = /\S/;

/**
 * Newline-delimited JSON framing (Ollama's `/api/chat` and `/api/generate` streams): every
 * non-blank line is one message. Blank and whitespace-only lines are skipped.
 */
export class NdjsonParser {
  /** Takes one line (without its line end); returns the message text it holds, if any. */
  push(line: string): string | undefined {
    return NON_WHITESPACE.test(line) ? line : undefined;
  }
}
