const NON_WHITESPACE = /\S/;

/**
 * Newline-delimited JSON framing (Ollama's `/api/chat` and `/api/generate` streams): every
 * non-blank line is one message. Blank and whitespace-only lines are skipped.
 */
export class NdjsonParser {
  /** Takes one line (without its line end); returns the message text it holds, if any. */
  push(line: string): string | undefined {
    // Nearly every line starts with its object's brace: no need to look further.
    return line.charCodeAt(0) === 0x7b /* { */ || NON_WHITESPACE.test(line) ? line : undefined;
  }
}
